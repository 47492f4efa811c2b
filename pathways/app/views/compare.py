"""The Compare view: per-unit differences between classes and the divergence curve per layer."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from dash import Dash, Output, html

from pathways.app import ids
from pathways.app.figures import PALETTE, figure_layout, message_figure
from pathways.app.reader import StoreReader
from pathways.app.view import View, graph, on_tab
from pathways.errors import StoreError

NAME = "compare"
"""The view's tab (its registry name)."""
COMPARE_DIFFERENCES = "compare-differences"
DIVERGENCE_CURVE = "divergence-curve"
COMPARE_SUMMARY = "compare-summary"


def layout(state: Mapping[str, Any]) -> list:
    return [
        html.Div(id=COMPARE_SUMMARY, style={"padding": "8px 16px"}),
        graph(COMPARE_DIFFERENCES, 460),
        graph(DIVERGENCE_CURVE, 400),
    ]


class CompareView:
    """Which units differ between the chosen classes, and from which layer they part."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def compare(self, run: str, model: str, layer: str, classes: list[int]) -> tuple:
        try:
            differences = self.reader.differences(run, model)
            divergence, chosen = self.reader.divergence(run, model)
            trained, _ = self.reader.classes(run)
            dead = set(self.reader.dead_units(run, model).get(layer, []))
        except StoreError as exc:
            return message_figure(str(exc)), message_figure(""), str(exc)
        classes = [int(c) for c in classes or []][:3]
        stored = {
            (int(a), int(b)) for a, b in zip(differences.class_a, differences.class_b, strict=True)
        }
        pairs = [
            p if p in stored else (p[1], p[0])
            for p in combinations(sorted(classes), 2)
            if p in stored or (p[1], p[0]) in stored
        ]
        layer_diff = differences[differences["layer"] == layer]
        # the divergence curve is about trained classes: the chosen ones, else the run's first two
        trained_pair = next(((a, b) for a, b in pairs if a in trained and b in trained), None)
        if trained_pair is None and len(trained) >= 2:
            trained_pair = (trained[0], trained[1])
        summary = []
        for a, b in pairs:
            part = layer_diff[(layer_diff.class_a == a) & (layer_diff.class_b == b)]
            if len(part):
                summary.append(html.Li(_difference_line(a, b, layer, part, dead)))
        note = html.Ul(summary) if summary else html.P("choose two or three classes")
        return (
            differences_figure(layer_diff, pairs, layer, dead),
            divergence_figure(divergence, chosen, trained_pair),
            note,
        )


def _difference_line(a: int, b: int, layer: str, part: pd.DataFrame, dead: set[str]) -> str:
    """ "3 vs 1 at fc3: 46 of 64 units differ (FDR 5 %); 18 of the 64 never vary (dead);
    median |d| of the 46 others 0.81"."""
    is_dead = part["unit"].isin(dead).to_numpy()
    line = f"{a} vs {b} at {layer}: {int(part['significant'].sum())} of {len(part)} units differ"
    line += " (FDR 5 %)"
    live = part["cohen_d"].abs()[~is_dead]
    if is_dead.any():
        return (
            f"{line}; {int(is_dead.sum())} of the {len(part)} never vary (dead); median |d| of "
            f"the {len(live)} others {live.median():.2f}"
        )
    return f"{line}, median |d| {live.median():.2f}"


def register(app: Dash, view: CompareView) -> None:
    app.callback(
        Output(COMPARE_DIFFERENCES, "figure"),
        Output(DIVERGENCE_CURVE, "figure"),
        Output(COMPARE_SUMMARY, "children"),
        *ids.VIEW_INPUTS,
        ids.TAB,
    )(on_tab(NAME, view.compare, 3))


def differences_figure(
    differences: pd.DataFrame,
    pairs: list[tuple[int, int]],
    layer: str,
    dead: set[str] = frozenset(),
) -> dict[str, Any]:
    """Per-unit Cohen's d for each pair, units in the order of the first pair's |d|; FDR-significant
    units filled, the others hollow; ``dead`` units (never vary, d = 0) left out, as in the
    Signatures view."""
    if differences.empty or not pairs:
        return message_figure("choose at least two classes to compare")
    left_out = len(dead & set(differences["unit"]))
    differences = differences[~differences["unit"].isin(dead)]
    first = differences[(differences.class_a == pairs[0][0]) & (differences.class_b == pairs[0][1])]
    order = (
        first.assign(abs_d=first["cohen_d"].abs())
        .sort_values("abs_d", ascending=False)["unit"]
        .tolist()
    )
    rank = {u: i for i, u in enumerate(order)}
    traces = []
    for i, (a, b) in enumerate(pairs):
        part = differences[(differences.class_a == a) & (differences.class_b == b)]
        x = part["unit"].map(rank).to_numpy()
        for significant, symbol in ((True, "circle"), (False, "circle-open")):
            sel = part["significant"].to_numpy() == significant
            traces.append(
                {
                    "type": "scattergl",
                    "mode": "markers",
                    "name": f"{a} vs {b} ({'q < α' if significant else 'not significant'})",
                    "x": x[sel],
                    "y": part["cohen_d"].to_numpy()[sel],
                    "text": part["unit"].to_numpy()[sel],
                    "customdata": np.stack(
                        [part["auroc"].to_numpy()[sel], part["q_value"].to_numpy()[sel]], axis=1
                    ),
                    "marker": {"symbol": symbol, "color": PALETTE[i % len(PALETTE)], "size": 7},
                    "hovertemplate": "unit %{text}<br>d = %{y:.2f}<br>AUROC %{customdata[0]:.2f}<br>q %{customdata[1]:.2g}<extra>"
                    + f"{a} vs {b}</extra>",
                }
            )
    return {
        "data": traces,
        "layout": figure_layout(
            f"{layer}: per-unit differences (Cohen's d; filled = FDR-significant)"
            + (f"; {left_out} dead units left out" if left_out else ""),
            xaxis={"title": {"text": f"unit, ordered by |d| of {pairs[0][0]} vs {pairs[0][1]}"}},
            yaxis={"title": {"text": "Cohen's d"}},
        ),
    }


def divergence_figure(
    divergence: pd.DataFrame, chosen: pd.DataFrame, pair: tuple[int, int] | None
) -> dict[str, Any]:
    """Probe accuracy and cluster purity per layer for a trained pair, the divergence layer marked."""
    if pair is None:
        return message_figure("the divergence curve needs two trained classes")
    part = divergence[
        (divergence.class_a == pair[0]) & (divergence.class_b == pair[1])
    ].sort_values("depth")
    if part.empty:
        return message_figure(f"no divergence figures for {pair[0]} vs {pair[1]}")
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": part["layer"].tolist(),
            "y": part[column].to_numpy(),
        }
        for column, name in (
            ("probe_accuracy", "linear-probe accuracy"),
            ("cluster_purity", "cluster purity"),
            ("nmi", "NMI"),
            ("cka_logits", "CKA with logits"),
        )
    ]
    row = chosen[(chosen.class_a == pair[0]) & (chosen.class_b == pair[1])]
    layer = row["divergence_layer"].iloc[0] if len(row) else None
    shapes, annotations = _divergence_mark(layer) if layer is not None else ([], [])
    return {
        "data": traces,
        "layout": figure_layout(
            f"where {pair[0]} and {pair[1]} part ways",
            shapes=shapes,
            annotations=annotations,
            yaxis={"range": [0, 1.05]},
        ),
    }


def _divergence_mark(layer: str) -> tuple[list[dict], list[dict]]:
    """A dashed red line at the divergence layer, and its label."""
    line = {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": layer,
        "x1": layer,
        "y0": 0,
        "y1": 1,
        "line": {"dash": "dash", "color": "#d62728"},
    }
    label = {
        "x": layer,
        "y": 1.02,
        "yref": "paper",
        "text": f"divergence layer: {layer}",
        "showarrow": False,
        "font": {"color": "#d62728"},
    }
    return [line], [label]


VIEW = View(NAME, "Compare", layout, CompareView, register)
