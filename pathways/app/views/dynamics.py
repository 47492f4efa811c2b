"""The Dynamics view: how the answers form during training (the dynamics step's tables).

Layer × epoch heatmaps of a chosen measure (for the first trained pair) and of each layer's
CKA with the final network; the unseen classes' closest trained signature and what the network
calls them, epoch by epoch, at the page's layer; and that layer's 2-D map at the epoch the
slider picks — maps aligned from epoch to epoch, so points move rather than jump.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from dash import Dash, Input, Output, dcc, html

from pathways.app import ids
from pathways.app.figures import class_colour, figure_layout, message_figure, typed
from pathways.app.reader import StoreReader
from pathways.app.view import ROW, View, graph, on_tab, picker
from pathways.engine.steps import step_id
from pathways.errors import StoreError
from pathways.store.summaries import class_label

NAME = "dynamics"
DYNAMICS_MEASURE = "dynamics-measure"
DYNAMICS_EPOCH = "dynamics-epoch"
DYNAMICS_HEATMAP = "dynamics-heatmap"
DYNAMICS_CKA = "dynamics-cka"
DYNAMICS_AFFINITY = "dynamics-affinity"
DYNAMICS_MAP = "dynamics-map"
DYNAMICS_NOTE = "dynamics-note"
DYNAMICS_PICKERS = "dynamics-pickers"
DYNAMICS_FIGURES = "dynamics-figures"
SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}
PICKERS = {**ROW, "padding": "8px 16px"}

MEASURES = {
    "probe_accuracy": "linear-probe accuracy",
    "cluster_purity": "cluster purity",
    "signature_distance": "signature distance (RMS Cohen's d)",
    "share_differing": "share of units that differ",
}
NO_SNAPSHOTS = (
    "This run has no training snapshots, so there is nothing to show here yet. To follow how "
    "the layers form during training, list the epochs to save in the experiment's config — "
    "training.snapshots, e.g. snapshots = [0, 1, 2, 4, 8] under [training] — and run "
    "`pathways run` again."
)


def layout(state: Mapping[str, Any]) -> list:
    """The pickers, a note, and the four figures; without snapshots only the note shows."""
    measure = dcc.Dropdown(
        id=DYNAMICS_MEASURE,
        clearable=False,
        options=[{"label": v, "value": k} for k, v in MEASURES.items()],
        value="probe_accuracy",
    )
    epochs = state.get("epochs") or []
    low, high, marks, value = _slider(epochs)
    slider = dcc.Slider(
        id=DYNAMICS_EPOCH, min=low, max=high, step=None, value=value, marks=marks
    )  # step None: only the snapshots' epochs
    shown = SHOWN if epochs else HIDDEN
    return [
        html.Div(_note(epochs), id=DYNAMICS_NOTE, role="status"),
        html.Div(
            [
                picker("measure", measure),
                html.Div(picker("epoch", slider), style={"flex": 1}),
            ],
            id=DYNAMICS_PICKERS,
            style=PICKERS if epochs else {**PICKERS, **HIDDEN},
        ),
        html.Div(
            [
                html.Div(
                    [graph(DYNAMICS_HEATMAP, 380), graph(DYNAMICS_CKA, 380)],
                    style={"display": "grid", "gridTemplateColumns": "1fr 1fr"},
                ),
                html.Div(
                    [graph(DYNAMICS_AFFINITY, 420), graph(DYNAMICS_MAP, 420)],
                    style={"display": "grid", "gridTemplateColumns": "1fr 1fr"},
                ),
            ],
            id=DYNAMICS_FIGURES,
            style=shown,
        ),
    ]


def _note(epochs: list[int]) -> list:
    """Nothing with snapshots; without, the sentence saying how to get them."""
    if epochs:
        return []
    style = {"padding": "8px 16px", "maxWidth": "900px", "lineHeight": "1.5"}
    return [html.P(NO_SNAPSHOTS, style=style)]


def _slider(epochs: list[int]) -> tuple:
    """The slider's range, marks and value: the snapshots' epochs, the last chosen."""
    epochs = epochs or [0]
    return epochs[0], epochs[-1], {e: f"epoch {e}" for e in epochs}, epochs[-1]


class DynamicsView:
    """The dynamics step's tables of one run and model, as figures."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def _table(self, run: str, model: str, name: str) -> pd.DataFrame:
        return self.reader.table(run, step_id("dynamics", model), name)

    def epochs(self, run: str | None, model: str | None) -> list[int]:
        try:
            if not (run and model):
                return []
            return sorted(int(e) for e in self._table(run, model, "layers")["epoch"].unique())
        except StoreError:
            return []

    def slider(self, run: str | None, model: str | None) -> tuple:
        """The slider's range, marks and value (the snapshots' epochs, the last chosen), the
        note, and the styles of the pickers' row and the figures: without snapshots, the note
        says how to get them and neither the slider nor empty figures show."""
        epochs = self.epochs(run, model)
        if not epochs:
            return (*_slider(epochs), _note(epochs), {**PICKERS, **HIDDEN}, HIDDEN)
        return (*_slider(epochs), _note(epochs), PICKERS, SHOWN)

    def figures(
        self, run: str, model: str, layer: str, classes: list[int], measure: str, epoch: int
    ) -> tuple:
        try:
            pairs = self._table(run, model, "pairs")
            layers = self._table(run, model, "layers")
            affinity = self._table(run, model, "affinity")
            predictions = self._table(run, model, "predictions")
            names = self.reader.class_names(run)
        except StoreError:
            empty = message_figure(NO_SNAPSHOTS)
            return empty, message_figure(""), message_figure(""), message_figure("")
        epochs = sorted(int(e) for e in layers["epoch"].unique())
        epoch = int(epoch) if epoch in epochs else epochs[-1]
        classes = [int(c) for c in classes or []]
        return (
            measure_heatmap(pairs, measure if measure in MEASURES else "probe_accuracy", names),
            cka_heatmap(layers),
            affinity_figure(affinity, predictions, layer, classes, names),
            self._map(run, model, layer, epoch, classes, names),
        )

    def _map(
        self, run: str, model: str, layer: str, epoch: int, classes: list[int], names: Any
    ) -> dict[str, Any]:
        try:
            points = self._table(run, model, "embedding")
            samples = self._table(run, model, "samples")
        except StoreError as exc:
            return message_figure(str(exc))
        return map_figure(points, samples, layer, epoch, classes, names)

    def initial(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"epochs": self.epochs(state["run"], state["model"])}


def register(app: Dash, view: DynamicsView) -> None:
    app.callback(
        Output(DYNAMICS_EPOCH, "min"),
        Output(DYNAMICS_EPOCH, "max"),
        Output(DYNAMICS_EPOCH, "marks"),
        Output(DYNAMICS_EPOCH, "value"),
        Output(DYNAMICS_NOTE, "children"),
        Output(DYNAMICS_PICKERS, "style"),
        Output(DYNAMICS_FIGURES, "style"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
    )(view.slider)
    app.callback(
        Output(DYNAMICS_HEATMAP, "figure"),
        Output(DYNAMICS_CKA, "figure"),
        Output(DYNAMICS_AFFINITY, "figure"),
        Output(DYNAMICS_MAP, "figure"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.LAYER, "value"),
        Input(ids.CLASSES, "value"),
        Input(DYNAMICS_MEASURE, "value"),
        Input(DYNAMICS_EPOCH, "value"),
        ids.TAB,
    )(on_tab(NAME, view.figures, 4))


def _heatmap(table: pd.DataFrame, value: str, title: str, zrange: tuple | None) -> dict:
    order = table.drop_duplicates("layer").sort_values("depth")["layer"].tolist()
    grid = table.pivot_table(index="layer", columns="epoch", values=value).reindex(order)
    trace = {
        "type": "heatmap",
        "z": grid.to_numpy().round(3).tolist(),
        "x": [f"epoch {e}" for e in grid.columns],
        "y": order,
        "colorscale": "Viridis",
        "hovertemplate": "%{y}, %{x}: %{z}<extra></extra>",
    }
    if zrange:
        trace["zmin"], trace["zmax"] = zrange
    return {
        "data": [trace],
        "layout": figure_layout(title, yaxis={"autorange": "reversed"}),
    }


def measure_heatmap(pairs: pd.DataFrame, measure: str, names: Any = None) -> dict[str, Any]:
    if pairs.empty:
        return message_figure("no trained pair to compare")
    a, b = int(pairs["class_a"].iloc[0]), int(pairs["class_b"].iloc[0])
    first = pairs[(pairs["class_a"] == a) & (pairs["class_b"] == b)]
    title = f"{MEASURES[measure]}, {class_label(a, names)} vs {class_label(b, names)}"
    return _heatmap(first, measure, title, None)  # its own range: 0.95 and 0.99 look apart


def cka_heatmap(layers: pd.DataFrame) -> dict[str, Any]:
    return _heatmap(
        layers, "cka_final", "CKA with the final network's layer (1 = settled)", (0.0, 1.0)
    )


def affinity_figure(
    affinity: pd.DataFrame,
    predictions: pd.DataFrame,
    layer: str,
    classes: list[int],
    names: Any = None,
) -> dict[str, Any]:
    """Per unseen class: the share whose closest trained signature at ``layer`` is each trained
    class (solid) and the share the network calls each trained class (dotted), by epoch."""
    if affinity.empty or "layer" not in affinity.columns:
        return message_figure("this run has no unseen class to follow")
    mine = affinity[affinity["layer"] == layer]
    if mine.empty:
        return message_figure(f"no unseen class, or no layer {layer!r}, in the snapshots")
    shown = [u for u in mine["unseen_class"].unique() if not classes or u in classes]
    trained = sorted(mine["trained_class"].unique())
    traces = []
    for u in shown:
        for t in trained:
            line = mine[(mine["unseen_class"] == u) & (mine["trained_class"] == t)]
            called = predictions[
                (predictions["class"] == u) & (predictions["predicted_class"] == t)
            ]
            colour = class_colour(int(t), classes or [int(c) for c in trained])
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": f"{class_label(u, names)}: closest to {class_label(t, names)}",
                    "x": line["epoch"].tolist(),
                    "y": line["share"].round(3).tolist(),
                    "line": {"color": colour},
                }
            )
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{class_label(u, names)}: called {class_label(t, names)}",
                    "x": called["epoch"].tolist(),
                    "y": called["share"].round(3).tolist(),
                    "line": {"color": colour, "dash": "dot"},
                }
            )
    return {
        "data": traces,
        "layout": figure_layout(
            f"unseen classes at {layer}, by epoch",
            xaxis={
                "title": {"text": "epoch"},
                "tickvals": sorted(int(e) for e in mine["epoch"].unique()),  # the snapshots
            },
            yaxis={"title": {"text": "share of samples"}, "range": [0, 1.02]},
        ),
    }


def map_figure(
    points: pd.DataFrame,
    samples: pd.DataFrame,
    layer: str,
    epoch: int,
    classes: list[int],
    names: Any = None,
) -> dict[str, Any]:
    here = points[(points["layer"] == layer) & (points["epoch"] == epoch)]
    if here.empty:
        return message_figure(f"no map of {layer!r} at epoch {epoch}")
    labels = samples.set_index("sample_id")["label"]
    here = here.assign(label=labels.loc[here["sample_id"]].to_numpy())
    every = sorted(int(c) for c in labels.unique())
    shown = [c for c in every if not classes or c in classes]
    traces = [
        {
            "type": "scattergl",
            "mode": "markers",
            "name": class_label(c, names),
            "x": typed(here.loc[here.label == c, "x"].to_numpy(np.float32)),
            "y": typed(here.loc[here.label == c, "y"].to_numpy(np.float32)),
            "marker": {"size": 5, "color": class_colour(c, classes or every), "opacity": 0.7},
        }
        for c in shown
    ]
    everywhere = points[points["layer"] == layer]  # fixed axes: points move between epochs
    pad = 0.05
    xr = [float(everywhere["x"].min()) - pad, float(everywhere["x"].max()) + pad]
    yr = [float(everywhere["y"].min()) - pad, float(everywhere["y"].max()) + pad]
    return {
        "data": traces,
        "layout": figure_layout(
            f"{layer} at epoch {epoch} (PCA, aligned across epochs)",
            xaxis={"range": xr, "showticklabels": False},
            yaxis={"range": yr, "showticklabels": False},
        ),
    }


VIEW = View(NAME, "Dynamics", layout, DynamicsView, register)
