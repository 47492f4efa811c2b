"""The Novelty view: every novelty score's distribution per class, its flags at a chosen false
discovery rate (and the score threshold they amount to), and its ROC curve."""

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
from pathways.app.view import ROW, View, graph, on_tab, picker
from pathways.app.views.novelty_flags import Flags, flags_at, flags_figure, threshold_marks
from pathways.errors import StoreError
from pathways.store.summaries import class_label

NAME = "novelty"
"""The view's tab (its registry name)."""
NOVELTY_METHOD = "novelty-method"
NOVELTY_HISTOGRAM = "novelty-histogram"
NOVELTY_ROC = "novelty-roc"


NOVELTY_FDR = "novelty-fdr"
NOVELTY_FLAGS = "novelty-flags"
FDR_MARKS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5)


def layout(state: Mapping[str, Any]) -> list:
    method = dcc.Dropdown(
        id=NOVELTY_METHOD,
        clearable=False,
        options=state.get("methods", []),
        value=state.get("method"),
    )
    fdr = dcc.Slider(
        id=NOVELTY_FDR,
        min=0.01,
        max=0.5,
        step=0.01,
        value=state.get("fdr", 0.1),
        marks={m: f"{100 * m:g} %" for m in FDR_MARKS},
    )
    return [
        html.Div(
            [
                html.Div(picker("score", method), style={"width": "300px"}),
                html.Div(picker("target false discovery rate", fdr), style={"width": "420px"}),
            ],
            style={**ROW, "padding": "8px 16px", "gap": "32px"},
        ),
        graph(NOVELTY_HISTOGRAM, 400),
        graph(NOVELTY_FLAGS, 400),
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

    def novelty(
        self, run: str, model: str, method: str, fdr: float | None, classes: list[int]
    ) -> tuple:
        try:
            scores, metrics = self.reader.novelty(run, model)
            _, unseen = self.reader.classes(run)
        except StoreError as exc:
            return message_figure(str(exc)), message_figure(""), message_figure("")
        classes = [int(c) for c in classes or []]
        methods = metrics.loc[metrics["kind"] != "oracle", "method"].tolist()  # every score
        method = method if method in scores.columns else ours_method(metrics)
        names = self.reader.class_names(run)
        chosen = [c for c in unseen if c in classes] or unseen
        flags, flagged = self._flags(run, model, scores, method, fdr or 0.1, classes, names)
        histogram = novelty_histogram(scores, method, classes, names)
        histogram["layout"] |= threshold_marks(flags.threshold if flags else None)
        roc = roc_figure(
            scores, methods, chosen, self._intervals(run, model, metrics, chosen, unseen), names
        )
        return histogram, flagged, roc

    def _flags(
        self,
        run: str,
        model: str,
        scores: pd.DataFrame,
        method: str,
        fdr: float,
        classes: list[int],
        names: Mapping[int, str],
    ) -> tuple[Flags | None, dict[str, Any]]:
        """The flags at ``fdr`` and their figure (a message for a run made before flags)."""
        try:
            pvalues = self.reader.novelty_pvalues(run, model)
        except StoreError:
            return None, message_figure(
                "this run has no novelty flags yet — `pathways run` adds them"
            )
        if "role" not in scores.columns or method not in pvalues.columns:
            return None, message_figure(f"no p-values for {method}")
        flags = flags_at(scores, pvalues, method, float(fdr))
        return flags, flags_figure(flags, classes, names)

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
        target = None
        if state["run"] and state["model"]:
            target = self.reader.novelty_target(state["run"], state["model"])
        return {"methods": methods, "method": method, "fdr": target or 0.1}


def register(app: Dash, view: NoveltyView) -> None:
    app.callback(
        Output(NOVELTY_METHOD, "options"),
        Output(NOVELTY_METHOD, "value"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
    )(view.options)
    app.callback(
        Output(NOVELTY_HISTOGRAM, "figure"),
        Output(NOVELTY_FLAGS, "figure"),
        Output(NOVELTY_ROC, "figure"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(NOVELTY_METHOD, "value"),
        Input(NOVELTY_FDR, "value"),
        Input(ids.CLASSES, "value"),
        ids.TAB,
    )(on_tab(NAME, view.novelty, 3))


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
