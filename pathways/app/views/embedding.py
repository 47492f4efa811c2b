"""The Embedding view: each layer's 2-D map of every sample, coloured by class, cluster, seen or correct."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from pathways.app import ids
from pathways.app.figures import (
    COLOUR_BY,
    PALETTE,
    class_colour,
    figure_layout,
    message_figure,
    typed,
)
from pathways.app.reader import StoreReader
from pathways.app.view import View, graph, on_tab, table
from pathways.app.views.sample import SAMPLE_ID
from pathways.errors import StoreError
from pathways.store.summaries import class_label

NAME = "embedding"
"""The view's tab (its registry name)."""
EMBEDDING = "embedding-graph"
TOOLTIP = "embedding-tooltip"
SELECTION = "selection-list"
MAPS_WAIT = "maps-wait"
"""Asks for the map again every few seconds while a run is still making the maps."""


def layout(state: Mapping[str, Any]) -> list:
    return [
        graph(EMBEDDING, 600, state.get("embedding")),
        dcc.Interval(id=MAPS_WAIT, interval=4000, disabled=not state.get("maps_pending")),
        dcc.Tooltip(id=TOOLTIP),
        html.H4("Selected samples (lasso or box on the map; click a point to open it in Sample)"),
        html.Div(id=SELECTION),
    ]


class EmbeddingView:
    """The 2-D map of a layer: hover for a sample, lasso a group, click to open one."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def embedding(
        self, run: str, model: str, layer: str, classes: list[int], colour_by: str
    ) -> dict[str, Any]:
        if not (run and model and layer):
            return message_figure("choose a run, a model and a layer")
        try:
            frame = self.reader.embedding(run, model, layer)
        except (StoreError, KeyError) as exc:
            return message_figure(str(exc))
        return embedding_figure(
            frame,
            colour_by or "class",
            [int(c) for c in classes or []],
            layer,
            self.reader.class_names(run),
            self.reader.map_quality(run, model).get(layer),
        )

    def map_or_wait(
        self, run: str, model: str, layer: str, classes: list[int], colour_by: str, _ticks: Any
    ) -> tuple[dict[str, Any], bool]:
        """The map, and whether to stop asking again: the maps come last in a run, so while
        they are not in the store the view asks every few seconds and fills them in."""
        figure = self.embedding(run, model, layer, classes, colour_by)
        return figure, not (run and model and self.reader.maps_pending(run, model))

    def hover(self, hover: dict | None, run: str, model: str) -> tuple:
        if not hover or not hover.get("points"):
            return False, no_update, no_update
        point = hover["points"][0]
        sample = int(point["customdata"])
        row = self.reader.samples(run, model).set_index("sample_id").loc[sample]
        names = self.reader.class_names(run)
        children = html.Div(
            [
                html.Img(
                    src=self.reader.image_uri(run, sample),
                    style={"width": "84px", "imageRendering": "pixelated"},
                ),
                html.P(
                    f"#{sample}: {class_label(row['label'], names)}, predicted "
                    f"{class_label(row['predicted_class'], names)} ({row['confidence']:.2f})",
                    style={"margin": "2px 0", "fontSize": "12px"},
                ),
            ]
        )
        return True, point["bbox"], children

    def selection(self, selected: dict | None, run: str, model: str) -> Any:
        if not selected or not selected.get("points"):
            return html.P("nothing selected")
        chosen = [int(p["customdata"]) for p in selected["points"] if "customdata" in p]
        samples = self.reader.samples(run, model).set_index("sample_id").loc[chosen]
        names = self.reader.class_names(run)
        counts = samples.groupby("label").size()
        summary = f"{len(chosen)} samples — " + ", ".join(
            f"{n} × {names.get(int(label), label)}" for label, n in counts.items()
        )
        rows = [
            [
                sid,
                names.get(int(row["label"]), str(row["label"])),
                row["split"],
                names.get(int(row["predicted_class"]), row["predicted_class"]),
                f"{row['confidence']:.2f}",
            ]
            for sid, row in samples.head(50).iterrows()
        ]
        header = ["sample", "label", "split", "predicted", "confidence"]
        return html.Div([html.P(summary), table(header, rows, "12px")])

    def clicked_sample(self, click: dict | None) -> Any:
        if not click or not click.get("points"):
            return no_update
        return int(click["points"][0]["customdata"])

    def initial(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The first map, served with the page (no round trip)."""
        args = (state["run"], state["model"], state["layer"], state["classes"], "class")
        pending = self.reader.maps_pending(state["run"], state["model"])
        return {"embedding": self.embedding(*args), "maps_pending": pending}


def register(app: Dash, view: EmbeddingView) -> None:
    picked = [State(ids.RUN, "value"), State(ids.MODEL, "value")]
    app.callback(
        Output(EMBEDDING, "figure"),
        Output(MAPS_WAIT, "disabled"),
        *ids.VIEW_INPUTS,
        Input(ids.COLOUR, "value"),
        Input(MAPS_WAIT, "n_intervals"),
        ids.TAB,
    )(on_tab(NAME, view.map_or_wait, 2))
    app.callback(
        Output(TOOLTIP, "show"),
        Output(TOOLTIP, "bbox"),
        Output(TOOLTIP, "children"),
        Input(EMBEDDING, "hoverData"),
        *picked,
    )(view.hover)
    app.callback(Output(SELECTION, "children"), Input(EMBEDDING, "selectedData"), *picked)(
        view.selection
    )
    app.callback(Output(SAMPLE_ID, "value"), Input(EMBEDDING, "clickData"))(view.clicked_sample)


OUTLIER = "outlier"
OUTLIER_COLOUR = "#c7c7c7"
FIXED = {
    "trained": "#1f77b4",
    "unseen": "#d62728",
    "correct": "#2ca02c",
    "wrong": "#d62728",
    OUTLIER: OUTLIER_COLOUR,
}


def _categories(frame: pd.DataFrame, colour_by: str) -> np.ndarray:
    """The colour category of each row, as a numpy array (by cluster: the cluster id, or
    "outlier" for a sample the clustering marked as noise — ``outlier``, or cluster −1)."""
    if colour_by == "seen/unseen":
        return np.where(frame["seen"].to_numpy(), "trained", "unseen")
    if colour_by == "correct/wrong":
        return np.where(
            frame["seen"].to_numpy(),
            np.where(frame["correct"].to_numpy(), "correct", "wrong"),
            "unseen",
        )
    if colour_by == "cluster":
        cluster = frame["cluster"].to_numpy()
        noise = (cluster < 0) | frame.get("outlier", pd.Series(False, frame.index)).to_numpy(bool)
        return np.where(noise, OUTLIER, cluster.astype(str)).astype(object)
    return frame[COLOUR_BY[colour_by]].to_numpy()


def _order(categories: np.ndarray, colour_by: str) -> list:
    """Legend order: outliers first (drawn beneath), clusters by number, others as they sort."""
    values = pd.unique(categories).tolist()
    if colour_by == "cluster":
        return sorted(values, key=lambda v: (v != OUTLIER, int(v) if v != OUTLIER else 0))
    return sorted(values, key=str)


def _style(value: Any, colour_by: str, classes: list[int], names: Any) -> tuple[str, str]:
    """A category's legend name and colour."""
    if colour_by == "class":
        return class_label(int(value), names), class_colour(int(value), classes)
    if colour_by == "cluster" and value != OUTLIER:
        return f"cluster {value}", PALETTE[int(value) % len(PALETTE)]
    return str(value), FIXED.get(str(value), PALETTE[0])


def embedding_figure(
    frame: pd.DataFrame,
    colour_by: str,
    classes: list[int],
    layer: str,
    names: Mapping[int, str] | None = None,
    quality: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """WebGL scatter of a layer's 2-D map, one trace per colour category; the title names the
    map's method and, with ``quality`` (a row of the step's ``map_quality``), how faithful it is.
    Coloured by cluster, the clustering's outliers are one light-grey trace, "outlier".

    ``frame``: sample_id, x, y, label, cluster, outlier, seen, correct, predicted_class,
    confidence. Only samples of ``classes`` are drawn. ``customdata`` carries the sample id.
    Built on numpy arrays (float32 coordinates, int32 ids) so that 70,000 points stay well
    under 150 ms.
    """
    keep = np.isin(frame["label"].to_numpy(), classes)
    if not keep.any():
        return message_figure("no samples of the chosen classes")
    x, y = frame["x"].to_numpy(np.float32)[keep], frame["y"].to_numpy(np.float32)[keep]
    sample_ids = frame["sample_id"].to_numpy(np.int32)[keep]
    categories = _categories(frame, colour_by)[keep]
    traces = []
    for value in _order(categories, colour_by):
        mask = categories == value
        name, colour = _style(value, colour_by, classes, names)
        traces.append(
            {
                "type": "scattergl",
                "mode": "markers",
                "name": name,
                "x": typed(x[mask]),
                "y": typed(y[mask]),
                "customdata": typed(sample_ids[mask]),
                "marker": {"size": 5, "color": colour, "opacity": 0.75},
                "hoverinfo": "none",
            }
        )
    return {
        "data": traces,
        "layout": figure_layout(
            f"{layer}: 2-D {_faithfulness(quality)}, coloured by {colour_by}",
            dragmode="lasso",
            legend={"itemsizing": "constant"},
            uirevision=layer,
        ),
    }


METHOD_NAMES = {"umap": "UMAP", "pacmap": "PaCMAP", "tsne": "t-SNE", "pca": "PCA"}


def _faithfulness(quality: Mapping[str, Any] | None) -> str:
    """ "UMAP map (keeps 21 % of 10 nearest neighbours, trustworthiness 0.99)"."""
    if not quality:
        return "UMAP map"
    method = METHOD_NAMES.get(str(quality["method"]), str(quality["method"]))
    if not np.isfinite(quality["preservation"]):
        return f"{method} map"
    return (
        f"{method} map (keeps {quality['preservation']:.0%} of 10 nearest neighbours, "
        f"trustworthiness {quality['trustworthiness']:.2f})"
    )


VIEW = View(NAME, "Embedding", layout, EmbeddingView, register)
