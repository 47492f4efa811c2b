"""The page: pickers on top, one tab per view."""

from __future__ import annotations

from dash import dcc, html

from pathways.app import ids
from pathways.app.figures import COLOUR_BY

_ROW = {"display": "flex", "gap": "12px", "alignItems": "end", "flexWrap": "wrap"}


def _picker(label: str, component) -> html.Div:  # noqa: ANN001 - a dash component
    return html.Div(
        [html.Label(label, style={"fontSize": "12px", "color": "#555"}), component],
        style={"minWidth": "160px"},
    )


def _graph(id_: str, height: int | None = 520, figure: dict | None = None) -> dcc.Graph:
    """A graph ``height`` pixels tall (None: as tall as its figure's layout says)."""
    extra = {"figure": figure} if figure is not None else {}
    style = {"height": f"{height}px"} if height else {}
    return dcc.Graph(id=id_, style=style, config={"displaylogo": False}, **extra)


def build_layout(runs: list[str], initial: dict | None = None) -> html.Div:
    """The whole page; ``runs`` fills the run picker (read when the page is served).

    ``initial`` holds the pickers' first options and values (models, layers, classes, …) so
    that the page asks for nothing on load instead of a chain of picker callbacks, and
    ``initial["embedding"]`` the first map itself (served with the page: no round trip).
    """
    initial = initial or {}
    header = html.Div(
        [
            html.H2("pathways explorer", style={"margin": "0 16px 0 0"}),
            _picker(
                "run",
                dcc.Dropdown(
                    id=ids.RUN, options=runs, value=runs[0] if runs else None, clearable=False
                ),
            ),
            _picker(
                "model",
                dcc.Dropdown(
                    id=ids.MODEL,
                    clearable=False,
                    options=initial.get("models", []),
                    value=initial.get("model"),
                ),
            ),
            _picker(
                "layer",
                dcc.Dropdown(
                    id=ids.LAYER,
                    clearable=False,
                    options=initial.get("layers", []),
                    value=initial.get("layer"),
                ),
            ),
            html.Div(
                _picker(
                    "classes to compare",
                    dcc.Dropdown(
                        id=ids.CLASSES,
                        multi=True,
                        options=initial.get("class_options", []),
                        value=initial.get("classes"),
                    ),
                ),
                style={"minWidth": "260px"},
            ),
            _picker(
                "colour by",
                dcc.RadioItems(id=ids.COLOUR, options=list(COLOUR_BY), value="class", inline=True),
            ),
        ],
        style={**_ROW, "padding": "10px 16px", "borderBottom": "1px solid #ddd"},
    )
    message = html.Div(
        initial.get("message", ""),
        id=ids.MESSAGE,
        role="status",
        style={"color": "#b00020", "padding": "6px 16px", "minHeight": "1.2em"},
    )
    tabs = dcc.Tabs(
        id=ids.TABS,
        value="embedding",
        children=[
            dcc.Tab(
                label="Embedding",
                value="embedding",
                children=[
                    _graph(ids.EMBEDDING, 600, initial.get("embedding")),
                    dcc.Tooltip(id=ids.TOOLTIP),
                    html.H4(
                        "Selected samples (lasso or box on the map; click a point to open it in Sample)"
                    ),
                    html.Div(id=ids.SELECTION),
                ],
            ),
            dcc.Tab(
                label="Signatures",
                value="signatures",
                children=[
                    html.Div(
                        _picker(
                            "sort units by the selectivity of class",
                            dcc.Dropdown(
                                id=ids.SIGNATURE_SORT,
                                clearable=False,
                                options=initial.get("sort_options", []),
                                value=initial.get("sort_class"),
                            ),
                        ),
                        style={"padding": "8px 16px", "width": "300px"},
                    ),
                    _graph(ids.SIGNATURE_HEATMAP, 360),
                    _graph(ids.TOP_UNITS, 380),
                ],
            ),
            dcc.Tab(
                label="Compare",
                value="compare",
                children=[
                    html.Div(id=ids.COMPARE_SUMMARY, style={"padding": "8px 16px"}),
                    _graph(ids.COMPARE_DIFFERENCES, 460),
                    _graph(ids.DIVERGENCE_CURVE, 400),
                ],
            ),
            dcc.Tab(
                label="Paths",
                value="paths",
                children=[
                    _graph(ids.SANKEY, 620),
                    html.Div(id=ids.PATHS_TABLE, style={"padding": "8px 16px"}),
                ],
            ),
            dcc.Tab(
                label="Sample",
                value="sample",
                children=[
                    html.Div(
                        [
                            _picker(
                                "sample id",
                                dcc.Input(
                                    id=ids.SAMPLE_ID,
                                    type="number",
                                    min=0,
                                    step=1,
                                    value=0,
                                    debounce=True,
                                ),
                            )
                        ],
                        style={"padding": "8px 16px"},
                    ),
                    html.Div(
                        [
                            html.Img(
                                id=ids.SAMPLE_IMAGE,
                                style={
                                    "width": "168px",
                                    "imageRendering": "pixelated",
                                    "border": "1px solid #ccc",
                                },
                            ),
                            html.Div(id=ids.SAMPLE_INFO),
                        ],
                        style={**_ROW, "padding": "0 16px"},
                    ),
                    _graph(ids.SAMPLE_ACTIVATIONS, 420),
                    html.H4("Nearest trained samples at this layer", style={"padding": "0 16px"}),
                    html.Div(id=ids.SAMPLE_NEIGHBOURS, style={**_ROW, "padding": "0 16px"}),
                ],
            ),
            dcc.Tab(
                label="Novelty",
                value="novelty",
                children=[
                    html.Div(
                        _picker(
                            "score",
                            dcc.Dropdown(
                                id=ids.NOVELTY_METHOD,
                                clearable=False,
                                options=initial.get("methods", []),
                                value=initial.get("method"),
                            ),
                        ),
                        style={"padding": "8px 16px", "width": "300px"},
                    ),
                    _graph(ids.NOVELTY_HISTOGRAM, 400),
                    _graph(ids.NOVELTY_ROC, 480),
                ],
            ),
            dcc.Tab(label="Explain", value="explain", children=_explain_tab()),
        ],
    )
    return html.Div([header, message, tabs], style={"fontFamily": "system-ui, sans-serif"})


def _explain_tab() -> list:
    """CNN interpretation: one explained sample, one cluster's mean maps, the rotation study."""
    pad = {"padding": "8px 16px"}
    return [
        html.Div(
            [
                html.Div(
                    _picker(
                        "explained sample", dcc.Dropdown(id=ids.EXPLAIN_SAMPLE, clearable=False)
                    ),
                    style={"width": "420px"},
                ),
                html.Div(id=ids.EXPLAIN_INFO, role="status", style={"paddingBottom": "8px"}),
            ],
            style={**_ROW, **pad},
        ),
        _graph(ids.EXPLAIN_PANELS, 320),
        _graph(ids.EXPLAIN_MAPS, None),
        html.Div(
            _picker(
                "cluster (its members' mean maps)",
                dcc.Dropdown(id=ids.EXPLAIN_CLUSTER, clearable=False),
            ),
            style={**pad, "width": "520px"},
        ),
        _graph(ids.EXPLAIN_CLUSTER_PANELS, 320),
        _graph(ids.ROTATION_CURVES, 380),
        _graph(ids.ROTATION_DRIFT, 360),
    ]
