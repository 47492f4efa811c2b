"""The Signatures view: per class and unit, mean activation and firing rate at a layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, dcc, html

from pathways.app import ids
from pathways.app.figures import class_colour, figure_layout, message_figure
from pathways.app.reader import StoreReader
from pathways.app.view import View, graph, on_tab, picker
from pathways.app.views import ablation_panel
from pathways.errors import StoreError
from pathways.store.summaries import class_label

NAME = "signatures"
"""The view's tab (its registry name)."""
SIGNATURE_SORT = "signature-sort"
SIGNATURE_HEATMAP = "signature-heatmap"
TOP_UNITS = "top-units"
DEAD_UNITS = "signature-dead-units"


def layout(state: Mapping[str, Any]) -> list:
    sort = dcc.Dropdown(
        id=SIGNATURE_SORT,
        clearable=False,
        options=state.get("sort_options", []),
        value=state.get("sort_class"),
    )
    return [
        html.Div(
            picker("sort units by the selectivity of class", sort),
            style={"padding": "8px 16px", "width": "300px"},
        ),
        html.P(id=DEAD_UNITS, role="note", style={"padding": "0 16px", "color": "#555"}),
        graph(SIGNATURE_HEATMAP, 360),
        graph(TOP_UNITS, 380),
        *ablation_panel.layout(state),
    ]


class SignaturesView:
    """Each class's signature at a layer: mean activation and firing rate per unit; and the
    panel that switches units off (:mod:`~pathways.app.views.ablation_panel`)."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.panel = ablation_panel.AblationPanel(reader)

    def options(self, run: str | None, model: str | None) -> tuple:
        """The classes to sort by: every class of the run, the first trained one first chosen."""
        try:
            trained, unseen = self.reader.classes(run) if run and model else ([], [])
        except StoreError:
            return [], None
        return trained + unseen, trained[0] if trained else None

    def signatures(
        self, run: str, model: str, layer: str, classes: list[int], sort_class: int | None
    ) -> tuple:
        """The heatmap and the top units of the live units, and a line naming the dead ones
        (units that never vary: they would be a blank band)."""
        try:
            sig = self.reader.signatures(run, model)
            dead = self.reader.dead_units(run, model).get(layer, [])
        except StoreError as exc:
            return message_figure(str(exc)), message_figure(""), ""
        sig = sig[sig["layer"] == layer]
        n_units = sig["unit"].nunique()
        sig = sig[~sig["unit"].isin(dead)]
        names = self.reader.class_names(run)
        classes = [int(c) for c in classes or []]
        top_class = sort_class if sort_class in classes else (classes[0] if classes else None)
        top = (
            top_units_figure(sig, top_class, classes, names=names)
            if top_class is not None
            else message_figure("choose a class")
        )
        heatmap = signature_heatmap(sig, classes, sort_class, layer, names)
        return heatmap, top, dead_units_line(dead, n_units, layer)

    def initial(self, state: Mapping[str, Any]) -> dict[str, Any]:
        options, chosen = self.options(state["run"], state["model"])
        mine = {"sort_options": options, "sort_class": chosen}
        return mine | self.panel.initial({**state, **mine})


def register(app: Dash, view: SignaturesView) -> None:
    app.callback(
        Output(SIGNATURE_SORT, "options"),
        Output(SIGNATURE_SORT, "value"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
    )(view.options)
    app.callback(
        Output(SIGNATURE_HEATMAP, "figure"),
        Output(TOP_UNITS, "figure"),
        Output(DEAD_UNITS, "children"),
        *ids.VIEW_INPUTS,
        Input(SIGNATURE_SORT, "value"),
        ids.TAB,
    )(on_tab(NAME, view.signatures, 3))
    ablation_panel.register(app, view.panel, Input(SIGNATURE_SORT, "value"))


def dead_units_line(dead: list[str], n_units: int, layer: str, shown: int = 24) -> str:
    """ "18 of 64 units of fc3 never vary (dead) and are left out: 02, 04, …" ("" if none)."""
    if not dead:
        return ""
    listed = ", ".join(dead[:shown]) + (
        f", … ({len(dead) - shown} more)" if len(dead) > shown else ""
    )
    return (
        f"{len(dead)} of {n_units} units of {layer} never vary (dead: the same activation for "
        f"every sample) and are left out of the figures: {listed}"
    )


def signature_heatmap(
    signatures: pd.DataFrame,
    classes: list[int],
    sort_class: int | None,
    layer: str,
    names: Mapping[int, str] | None = None,
    max_units: int = 120,
) -> dict[str, Any]:
    """Units × classes heatmap of mean activation (scaled per unit to its maximum), sorted by
    the selectivity of ``sort_class`` (most selective first). The caller leaves dead units out
    (:meth:`SignaturesView.signatures`)."""
    part = signatures[signatures["class"].isin(classes)]
    if part.empty:
        return message_figure("no signatures for the chosen classes")
    means = part.pivot(index="unit", columns="class", values="mean")
    if sort_class in means.columns:
        order = part[part["class"] == sort_class].sort_values("selectivity", ascending=False)[
            "unit"
        ]
    else:
        order = pd.Series(list(dict.fromkeys(part["unit"])))
    means = means.loc[order.head(max_units)]
    peak = means.abs().max(axis=1).replace(0, 1.0)
    scaled = means.div(peak, axis=0)
    columns = [c for c in classes if c in scaled.columns]
    return {
        "data": [
            {
                "type": "heatmap",
                "z": scaled[columns].to_numpy().T,
                "x": [str(u) for u in scaled.index],
                "y": [class_label(c, names) for c in columns],
                "customdata": means[columns].to_numpy().T,
                "colorscale": "Viridis",
                "hovertemplate": "unit %{x}<br>%{y}<br>mean %{customdata:.3f}<extra></extra>",
                "colorbar": {"title": {"text": "mean / unit max"}},
            }
        ],
        "layout": figure_layout(
            f"{layer}: class signatures ({len(scaled)} units{', sorted by selectivity for ' + str(sort_class) if sort_class in means.columns else ''})",
            xaxis={"title": {"text": "unit"}, "type": "category"},
        ),
    }


def top_units_figure(
    signatures: pd.DataFrame,
    cls: int,
    classes: list[int],
    top: int = 10,
    names: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """The ``top`` most selective units of ``cls``, with every chosen class's mean on them."""
    mine = (
        signatures[signatures["class"] == cls].sort_values("selectivity", ascending=False).head(top)
    )
    if mine.empty:
        return message_figure(f"no signature for {class_label(cls, names)}")
    units = mine["unit"].tolist()
    traces = []
    for c in classes:
        part = signatures[(signatures["class"] == c)].set_index("unit").reindex(units)
        traces.append(
            {
                "type": "bar",
                "name": class_label(c, names),
                "x": units,
                "y": part["mean"].to_numpy(),
                "marker": {"color": class_colour(c, classes)},
            }
        )
    return {
        "data": traces,
        "layout": figure_layout(
            f"top units of {class_label(cls, names)} (by selectivity)",
            barmode="group",
            xaxis={"type": "category", "title": {"text": "unit"}},
            yaxis={"title": {"text": "mean activation"}},
        ),
    }


VIEW = View(NAME, "Signatures", layout, SignaturesView, register)
