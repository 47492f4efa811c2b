"""The Paths view: cluster-to-cluster flows per class (Sankey) and each class's dominant paths."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, html

from pathways.app import ids
from pathways.app.figures import class_colour, figure_layout, message_figure
from pathways.app.reader import StoreReader
from pathways.app.view import View, graph, on_tab, table
from pathways.errors import StoreError

NAME = "paths"
"""The view's tab (its registry name)."""
SANKEY = "paths-sankey"
PATHS_TABLE = "paths-table"


def layout(state: Mapping[str, Any]) -> list:
    return [graph(SANKEY, 620), html.Div(id=PATHS_TABLE, style={"padding": "8px 16px"})]


class PathsView:
    """How each class flows through the layers' clusters, and its dominant paths."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def paths(self, run: str, model: str, classes: list[int]) -> tuple:
        try:
            transitions = self.reader.transitions(run, model)
            distribution = self.reader.path_distribution(run, model)
            trained, unseen = self.reader.classes(run)
            layers = self.reader.layers(run, model)
        except StoreError as exc:
            return message_figure(str(exc)), str(exc)
        classes = [int(c) for c in classes or []]
        top = distribution[distribution["class"].isin(classes) & (distribution["rank"] <= 3)]
        rows = [
            [r["class"], r["rank"], r["path"], r["n"], f"{100 * r['share']:.0f} %"]
            for _, r in top.iterrows()
        ]
        header = ["class", "rank", f"path (cluster at {' > '.join(layers)})", "samples", "share"]
        return sankey_figure(transitions, classes, trained + unseen), table(header, rows)


def register(app: Dash, view: PathsView) -> None:
    app.callback(
        Output(SANKEY, "figure"),
        Output(PATHS_TABLE, "children"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.CLASSES, "value"),
        ids.TAB,
    )(on_tab(NAME, view.paths, 2))


def sankey_figure(
    transitions: pd.DataFrame,
    classes: list[int],
    all_classes: list[int],
    names: Mapping[int, str] | None = None,
    colours: Mapping[int, str] | None = None,
    title: str = "paths: cluster-to-cluster flows per class (node = layer:cluster)",
) -> dict[str, Any]:
    """Cluster-to-cluster flows across layers, one link colour per class (``class`` may be any
    group code; ``names`` then names each in the hover, ``colours`` colours it)."""
    part = transitions[transitions["class"].isin(classes)]
    if part.empty:
        return message_figure("no paths for the chosen classes")
    layers = list(dict.fromkeys(list(part["layer_from"]) + list(part["layer_to"])))
    nodes = sorted(
        {(lay, c) for lay, c in zip(part["layer_from"], part["cluster_from"], strict=True)}
        | {(lay, c) for lay, c in zip(part["layer_to"], part["cluster_to"], strict=True)},
        key=lambda n: (layers.index(n[0]), n[1]),
    )
    index = {n: i for i, n in enumerate(nodes)}
    chosen = colours or {}
    colours = [chosen.get(int(c)) or class_colour(int(c), all_classes) for c in part["class"]]
    return {
        "data": [
            {
                "type": "sankey",
                "arrangement": "snap",
                "node": {
                    "label": [f"{lay}:{c}" for lay, c in nodes],
                    "pad": 12,
                    "thickness": 14,
                    "x": [
                        0.01 + 0.98 * layers.index(lay) / max(len(layers) - 1, 1)
                        for lay, _ in nodes
                    ],
                },
                "link": {
                    "source": [
                        index[(lay, c)]
                        for lay, c in zip(part["layer_from"], part["cluster_from"], strict=True)
                    ],
                    "target": [
                        index[(lay, c)]
                        for lay, c in zip(part["layer_to"], part["cluster_to"], strict=True)
                    ],
                    "value": part["n"].to_numpy(),
                    "color": [c + "99" for c in colours],
                    "customdata": [(names or {}).get(int(c), f"class {c}") for c in part["class"]],
                    "hovertemplate": "%{customdata}: %{value} samples<br>%{source.label} → %{target.label}<extra></extra>",
                },
            }
        ],
        "layout": figure_layout(title),
    }


VIEW = View(NAME, "Paths", layout, PathsView, register)
