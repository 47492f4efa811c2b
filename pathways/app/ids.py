"""Component ids, in one place."""

RUN = "run"
MODEL = "model"
LAYER = "layer"
CLASSES = "classes"
COLOUR = "colour-by"
MESSAGE = "message"
TABS = "tabs"

EMBEDDING = "embedding-graph"
TOOLTIP = "embedding-tooltip"
SELECTION = "selection-list"

SIGNATURE_SORT = "signature-sort"
SIGNATURE_HEATMAP = "signature-heatmap"
TOP_UNITS = "top-units"

COMPARE_DIFFERENCES = "compare-differences"
DIVERGENCE_CURVE = "divergence-curve"
COMPARE_SUMMARY = "compare-summary"

SANKEY = "paths-sankey"
PATHS_TABLE = "paths-table"

SAMPLE_ID = "sample-id"
SAMPLE_IMAGE = "sample-image"
SAMPLE_INFO = "sample-info"
SAMPLE_ACTIVATIONS = "sample-activations"
SAMPLE_NEIGHBOURS = "sample-neighbours"

NOVELTY_METHOD = "novelty-method"
NOVELTY_HISTOGRAM = "novelty-histogram"
NOVELTY_ROC = "novelty-roc"
