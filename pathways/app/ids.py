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

EXPLAIN_SAMPLE = "explain-sample"
EXPLAIN_INFO = "explain-info"
EXPLAIN_PANELS = "explain-panels"
EXPLAIN_MAPS = "explain-maps"
EXPLAIN_CLUSTER = "explain-cluster"
EXPLAIN_CLUSTER_PANELS = "explain-cluster-panels"
ROTATION_CURVES = "rotation-curves"
ROTATION_DRIFT = "rotation-drift"
