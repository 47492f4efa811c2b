"""The Interventions view: each answer checked by editing the network (the interventions stage).

For the layer picked above: a trained class's accuracy (or logit margin) as its signature's
units, layer Integrated Gradients' units or random units are switched off, with bands. For the
model: per layer, the share of units that must be patched from a paired sample of the other
class before the prediction follows it, with the causal and probe/purity layers marked; and how
far an unseen class must be moved onto each trained class's route before its call changes. The
report's sentences for the same checks head the view.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

from dash import Dash, Input, Output, dcc, html

from pathways.analysis.interventions_report import (
    ablation_lines,
    interventions_checks,
    patching_lines,
    route_lines,
)
from pathways.app import ids
from pathways.app.figures import message_figure
from pathways.app.reader import StoreReader
from pathways.app.view import ROW, View, graph, on_tab, picker
from pathways.app.views.interventions_figures import (
    ablation_figure,
    patching_figure,
    route_figure,
)
from pathways.errors import StoreError
from pathways.store.summaries import class_label

NAME = "interventions"
"""The view's tab (its registry name)."""
ABLATION_CLASS = "interventions-class"
ABLATION_MEASURE = "interventions-measure"
PATCHING_PAIR = "interventions-pair"
ROUTE_CLASS = "interventions-route-class"
VERDICTS = "interventions-verdicts"
ABLATION_CURVES = "interventions-ablation"
PATCHING = "interventions-patching"
ROUTES = "interventions-routes"


def _dropdown(id_: str, state: Mapping[str, Any], key: str) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=id_,
        clearable=False,
        options=state.get(f"{key}_options", []),
        value=state.get(key),
    )


def layout(state: Mapping[str, Any]) -> list:
    measure = dcc.RadioItems(
        id=ABLATION_MEASURE,
        options=[
            {"label": "accuracy", "value": "accuracy"},
            {"label": "logit margin", "value": "margin"},
        ],
        value="accuracy",
        inline=True,
    )
    return [
        html.Div(
            [
                picker("switch off units of class", _dropdown(ABLATION_CLASS, state, "iv_class")),
                picker("measure", measure),
                picker("patch between", _dropdown(PATCHING_PAIR, state, "iv_pair")),
                picker("move onto routes", _dropdown(ROUTE_CLASS, state, "iv_route")),
            ],
            style={**ROW, "padding": "8px 16px"},
        ),
        dcc.Markdown(id=VERDICTS, style={"padding": "0 16px", "maxWidth": "1100px"}),
        graph(ABLATION_CURVES, 420),
        graph(PATCHING, 420),
        graph(ROUTES, 460),
    ]


class InterventionsView:
    """The interventions stage's curves, patching shares and route moves, and their verdicts."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def options(self, run: str | None, model: str | None) -> tuple:
        """Trained classes (ablation), trained pairs (patching), every class (routes: the
        unseen ones first, the first chosen)."""
        try:
            trained, unseen = self.reader.classes(run) if run and model else ([], [])
            names = self.reader.class_names(run) if run else {}
        except StoreError:
            return [], None, [], None, [], None
        name = lambda c: class_label(c, names)  # noqa: E731
        classes = [{"label": name(c), "value": c} for c in trained]
        pairs = [
            {"label": f"{name(a)} and {name(b)}", "value": f"{a},{b}"}
            for a, b in combinations(trained, 2)
        ]
        routes = [
            {"label": name(c) + (" (unseen)" if c in unseen else ""), "value": c}
            for c in unseen + trained
        ]
        first = lambda o: o[0]["value"] if o else None  # noqa: E731
        return classes, first(classes), pairs, first(pairs), routes, first(routes)

    def interventions(
        self,
        run: str,
        model: str,
        layer: str,
        cls: int | None,
        measure: str,
        pair: str | None,
        route: int | None,
    ) -> tuple:
        try:
            found = self.reader.interventions(run, model)
            trained, unseen = self.reader.classes(run)
        except StoreError as exc:
            return str(exc), message_figure(str(exc)), message_figure(""), message_figure("")
        names = self.reader.class_names(run)
        a, b = (int(c) for c in pair.split(",")) if pair else (None, None)
        curves = (
            ablation_figure(found["ablation"], layer, int(cls), measure, names)
            if cls is not None
            else message_figure("choose a class")
        )
        patching = (
            patching_figure(found["patching_summary"], (a, b), names)
            if a is not None
            else message_figure("patching needs two trained classes")
        )
        routes = (
            route_figure(found["route_summary"], int(route), trained, names)
            if route is not None
            else message_figure("choose a class to move")
        )
        text = verdicts(found, trained, unseen, (a, b), route, names)
        return text, curves, patching, routes

    def initial(self, state: Mapping[str, Any]) -> dict[str, Any]:
        classes, cls, pairs, pair, routes, route = self.options(state["run"], state["model"])
        return {
            "iv_class_options": classes,
            "iv_class": cls,
            "iv_pair_options": pairs,
            "iv_pair": pair,
            "iv_route_options": routes,
            "iv_route": route,
        }


def verdicts(
    found: Mapping[str, Any],
    trained: list[int],
    unseen: list[int],
    pair: tuple[int | None, int | None],
    route: int | None,
    names: Mapping[int, str],
) -> str:
    """The report's sentences on the shown checks (Markdown)."""
    checks = interventions_checks(found, trained, unseen)
    name = lambda c: class_label(c, names)  # noqa: E731
    lines = ["**Which neurons** (question 2)", *ablation_lines(checks, trained, name)]
    if pair[0] is not None:
        lines += ["**From which layer** (question 1)", *patching_lines(checks, *pair, name)]
    if route in unseen:
        lines += ["**The unseen class's route** (question 3)", *route_lines(checks, route, name)]
    text = "\n\n".join(line.strip() for line in lines if line.strip())
    return text.replace("[", "\\[")  # intervals, not Markdown links


def register(app: Dash, view: InterventionsView) -> None:
    app.callback(
        Output(ABLATION_CLASS, "options"),
        Output(ABLATION_CLASS, "value"),
        Output(PATCHING_PAIR, "options"),
        Output(PATCHING_PAIR, "value"),
        Output(ROUTE_CLASS, "options"),
        Output(ROUTE_CLASS, "value"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
    )(view.options)
    app.callback(
        Output(VERDICTS, "children"),
        Output(ABLATION_CURVES, "figure"),
        Output(PATCHING, "figure"),
        Output(ROUTES, "figure"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.LAYER, "value"),
        Input(ABLATION_CLASS, "value"),
        Input(ABLATION_MEASURE, "value"),
        Input(PATCHING_PAIR, "value"),
        Input(ROUTE_CLASS, "value"),
        ids.TAB,
    )(on_tab(NAME, view.interventions, 4))


VIEW = View(NAME, "Interventions", layout, InterventionsView, register)
