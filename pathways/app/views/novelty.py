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
from pathways.app.figures import (
    PALETTE,
    class_colour,
    figure_layout,
    message_figure,
)
from pathways.app.reader import StoreReader
from pathways.app.view import View, graph, on_tab, picker
from pathways.errors import StoreError
from pathways.store.summaries import class_label

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
        names = self.reader.class_names(run)
        chosen = [c for c in unseen if c in classes] or unseen
        return novelty_histogram(scores, method, classes, names), roc_figure(
            scores, methods, chosen, self._intervals(run, model, metrics, chosen, unseen), names
        )

    def _intervals(
        self, run: str, model: str, metrics: pd.DataFrame, chosen: list[int], unseen: list[int]
    ) -> dict[str, tuple[float, float]]:
        """The stored AUROC intervals for the unseen classes shown: pooled when all are, one
        class's own when one is (none for another choice, or a run without intervals)."""
        table = metrics
        if len(chosen) == 1 and len(unseen) > 1:
            try:
                by_class = self.reader.novelty_by_class(run, model)
            except StoreError:
                return {}
            table = by_class[by_class["unseen_class"] == chosen[0]]
        elif sorted(chosen) != sorted(unseen):
            return {}
        if "auroc_low" not in table.columns:
            return {}
        return {
            r.method: (float(r.auroc_low), float(r.auroc_high))
            for r in table.itertuples()
            if pd.notna(r.auroc_low)
        }

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
    scores: pd.DataFrame,
    methods: list[str],
    unseen_classes: list[int],
    intervals: Mapping[str, tuple[float, float]] | None = None,
    names: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """ROC curves (unseen test vs trained test samples) of our score and the baselines; the
    first of ``methods`` (ours) is drawn thicker. ``intervals``: each method's 95 % bootstrap
    interval of the AUROC, shown in the legend."""
    intervals = intervals or {}
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
                "name": f"{method} (AUROC {auroc(test[method].to_numpy(), positive):.3f}"
                + (
                    f" [{intervals[method][0]:.3f}, {intervals[method][1]:.3f}])"
                    if method in intervals
                    else ")"
                ),
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
            f"ROC: {', '.join(class_label(c, names) for c in unseen_classes)} (unseen) vs trained "
            "test samples" + (" — AUROC with 95 % bootstrap intervals" if intervals else ""),
            xaxis={"title": {"text": "false-positive rate"}},
            yaxis={"title": {"text": "true-positive rate"}},
        ),
    }


VIEW = View(NAME, "Novelty", layout, NoveltyView, register)
