"""The Novelty view: every novelty score's distribution per class and its ROC curve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, dcc, html
from sklearn.metrics import roc_curve

from pathways.analysis.novelty_scores import ours_method
from pathways.analysis.stats import auroc
from pathways.app import ids
from pathways.app.data import StoreReader
from pathways.app.figures import (
    PALETTE,
    class_colour,
    class_label,
    figure_layout,
    message_figure,
)
from pathways.app.view import View, graph, on_tab, picker
from pathways.errors import StoreError

NAME = "novelty"
"""The view's tab (its registry name)."""
NOVELTY_METHOD = "novelty-method"
NOVELTY_HISTOGRAM = "novelty-histogram"
NOVELTY_ROC = "novelty-roc"


def layout(state: Mapping[str, Any]) -> list:
    method = dcc.Dropdown(
        id=NOVELTY_METHOD,
        clearable=False,
        options=state.get("methods", []),
        value=state.get("method"),
    )
    return [
        html.Div(picker("score", method), style={"padding": "8px 16px", "width": "300px"}),
        graph(NOVELTY_HISTOGRAM, 400),
        graph(NOVELTY_ROC, 480),
    ]


class NoveltyView:
    """How unusual each sample looks by every novelty score, and each score's ROC curve; the
    scores and their kinds come from the novelty step's metrics."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def options(self, run: str | None, model: str | None) -> tuple:
        """Every score of the run's novelty step (no oracle), ours chosen."""
        try:
            if not (run and model):
                return [], None
            _, metrics = self.reader.novelty(run, model)
        except StoreError:
            return [], None
        return metrics.loc[metrics["kind"] != "oracle", "method"].tolist(), ours_method(metrics)

    def novelty(self, run: str, model: str, method: str, classes: list[int]) -> tuple:
        try:
            scores, metrics = self.reader.novelty(run, model)
            _, unseen = self.reader.classes(run)
        except StoreError as exc:
            return message_figure(str(exc)), message_figure("")
        classes = [int(c) for c in classes or []]
        methods = metrics.loc[metrics["kind"] != "oracle", "method"].tolist()  # every score
        method = method if method in scores.columns else ours_method(metrics)
        return novelty_histogram(scores, method, classes, self.reader.class_names(run)), roc_figure(
            scores, methods, [c for c in unseen if c in classes] or unseen
        )

    def initial(self, state: Mapping[str, Any]) -> dict[str, Any]:
        methods, method = self.options(state["run"], state["model"])
        return {"methods": methods, "method": method}


def register(app: Dash, view: NoveltyView) -> None:
    app.callback(
        Output(NOVELTY_METHOD, "options"),
        Output(NOVELTY_METHOD, "value"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
    )(view.options)
    app.callback(
        Output(NOVELTY_HISTOGRAM, "figure"),
        Output(NOVELTY_ROC, "figure"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(NOVELTY_METHOD, "value"),
        Input(ids.CLASSES, "value"),
        ids.TAB,
    )(on_tab(NAME, view.novelty, 2))


def novelty_histogram(
    scores: pd.DataFrame,
    method: str,
    classes: list[int],
    names: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    part = scores[scores["label"].isin(classes) & (scores["split"].astype(str) == "test")]
    traces = [
        {
            "type": "histogram",
            "name": class_label(c, names),
            "x": part.loc[part.label == c, method].to_numpy(),
            "opacity": 0.6,
            "marker": {"color": class_colour(c, classes)},
            "nbinsx": 40,
        }
        for c in classes
    ]
    return {
        "data": traces,
        "layout": figure_layout(
            f"novelty score '{method}' on test samples, per class",
            barmode="overlay",
            xaxis={"title": {"text": "score (higher = more unusual)"}},
        ),
    }


def roc_figure(
    scores: pd.DataFrame, methods: list[str], unseen_classes: list[int]
) -> dict[str, Any]:
    """ROC curves (unseen test vs trained test samples) of our score and the baselines; the
    first of ``methods`` (ours) is drawn thicker."""
    test = scores[scores["split"].astype(str) == "test"]
    test = test[test["seen"] | test["label"].isin(unseen_classes)]
    positive = ~test["seen"].to_numpy()
    if positive.sum() == 0 or (~positive).sum() == 0:
        return message_figure("ROC needs unseen and trained test samples")
    traces = []
    for i, method in enumerate(methods):
        fpr, tpr, _ = roc_curve(positive, test[method].to_numpy())
        width = 4 if i == 0 else 2
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{method} (AUROC {auroc(test[method].to_numpy(), positive):.3f})",
                "x": fpr,
                "y": tpr,
                "line": {"width": width, "color": PALETTE[i % len(PALETTE)]},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "chance",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"dash": "dot", "color": "#aaa"},
        }
    )
    return {
        "data": traces,
        "layout": figure_layout(
            "ROC: unseen vs trained test samples",
            xaxis={"title": {"text": "false-positive rate"}},
            yaxis={"title": {"text": "true-positive rate"}},
        ),
    }


VIEW = View(NAME, "Novelty", layout, NoveltyView, register)
