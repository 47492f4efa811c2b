"""The Interventions view's figures: ablation curves with bands, patching shares per layer, and
moves onto each trained class's route. Pure functions from the stage's tables to figure dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pathways.app.figures import PALETTE, class_colour, figure_layout, message_figure
from pathways.store.summaries import class_label

RANKINGS = {
    "signature": ("the class's signature units", "#d62728"),
    "attribution": ("layer Integrated Gradients units", "#1f77b4"),
    "random": ("random units", "#7f7f7f"),
}
"""Each ranking of the units switched off: its legend and colour."""


def _band(x: Any, low: Any, high: Any, colour: str, name: str) -> list[dict[str, Any]]:
    """A shaded band between ``low`` and ``high`` (two traces, the second filled to the first)."""
    edge = {"type": "scatter", "mode": "lines", "line": {"width": 0}, "x": x}
    return [
        {**edge, "y": high, "showlegend": False, "hoverinfo": "skip", "legendgroup": name},
        {
            **edge,
            "y": low,
            "fill": "tonexty",
            "fillcolor": _transparent(colour),
            "showlegend": False,
            "hoverinfo": "skip",
            "legendgroup": name,
        },
    ]


def _error_bars(values: np.ndarray, table: pd.DataFrame, column: str) -> dict[str, Any]:
    """Asymmetric error bars from ``values`` to the table's ``COLUMN_low`` and ``COLUMN_high``."""
    return {
        "type": "data",
        "symmetric": False,
        "array": table[f"{column}_high"].to_numpy(dtype=float) - values,
        "arrayminus": values - table[f"{column}_low"].to_numpy(dtype=float),
    }


def _transparent(colour: str, alpha: float = 0.18) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def ablation_figure(
    curves: pd.DataFrame,
    layer: str,
    cls: int,
    measure: str,
    names: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """``measure`` (accuracy or margin) of class ``cls`` as k units of ``layer`` are switched
    off, per ranking, each with its 95 % bootstrap band; for random units also the spread of
    the draws (dotted) and, for accuracy, the clean accuracy (dashed)."""
    part = curves[(curves["layer"] == layer) & (curves["class"] == cls)]
    if part.empty:
        return message_figure(f"no ablation of {layer} for {class_label(cls, names)}")
    traces: list[dict[str, Any]] = []
    for ranking in RANKINGS:
        line = part[part["ranking"] == ranking].sort_values("k")
        if line.empty:
            continue
        traces += _ranking_traces(line, ranking, measure)
    if measure == "accuracy":
        clean = float(part["clean_accuracy"].iloc[0])
        traces.append(_level(part["k"], clean, "nothing switched off", "#2ca02c"))
    n_units = int(part["n_units"].iloc[0])
    return {
        "data": traces,
        "layout": figure_layout(
            f"{layer}: {class_label(cls, names)}'s {measure} with k of its {n_units} units "
            "switched off (bands: 95 % bootstrap intervals)",
            xaxis={"title": {"text": "k units switched off"}, "type": "log", "dtick": 0.30103},
            yaxis={"title": {"text": measure if measure == "accuracy" else "logit margin"}},
        ),
    }


def _ranking_traces(line: pd.DataFrame, ranking: str, measure: str) -> list[dict[str, Any]]:
    """One ranking's curve and band (and, for random units' accuracy, the draws' spread)."""
    label, colour = RANKINGS[ranking]
    traces: list[dict[str, Any]] = []
    x = line["k"].to_numpy()
    traces += _band(x, line[f"{measure}_low"], line[f"{measure}_high"], colour, ranking)
    traces.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": label,
            "legendgroup": ranking,
            "x": x,
            "y": line[measure].to_numpy(),
            "line": {"color": colour, "width": 3 if ranking == "signature" else 2},
            "customdata": np.stack(
                [line["share"] * 100, line[f"{measure}_low"], line[f"{measure}_high"]], axis=1
            ),
            "hovertemplate": f"{label}<br>k %{{x}} (%{{customdata[0]:.0f}} % of the layer)"
            f"<br>{measure} %{{y:.3f}} [%{{customdata[1]:.3f}}, %{{customdata[2]:.3f}}]"
            "<extra></extra>",
        }
    )
    if ranking == "random" and measure == "accuracy":
        for end in ("draws_low", "draws_high"):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "random draws: middle 95 %",
                    "showlegend": end == "draws_low",
                    "legendgroup": "draws",
                    "x": x,
                    "y": line[end].to_numpy(),
                    "line": {"color": colour, "dash": "dot", "width": 1},
                }
            )
    return traces


def _level(x: pd.Series, y: float, name: str, colour: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": [int(x.min()), int(x.max())],
        "y": [y, y],
        "line": {"color": colour, "dash": "dash", "width": 1},
    }


def patching_figure(
    summary: pd.DataFrame, pair: tuple[int, int], names: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """Per layer: the median share of units that must be patched from the other class for the
    prediction to follow it, the pair's most different units first and in random order, with
    intervals; the causal and the probe/purity layer marked."""
    a, b = pair
    part = summary[
        ((summary["class_a"] == a) & (summary["class_b"] == b))
        | ((summary["class_a"] == b) & (summary["class_b"] == a))
    ]
    if part.empty:
        return message_figure(f"no patching of {class_label(a, names)} and {class_label(b, names)}")
    layers = part["layer"].tolist()
    traces = []
    for name, label, colour in (
        ("top", "the pair's most different units first", "#d62728"),
        ("random", "units in random order", "#7f7f7f"),
    ):
        values = part[f"{name}_share"].to_numpy(dtype=float)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": layers,
                "y": values,
                "line": {"color": colour},
                "error_y": _error_bars(values, part, f"{name}_share"),
                "hovertemplate": "%{x}: %{y:.0%} of the layer<extra>" + label + "</extra>",
            }
        )
    marks = {"causal": part["causal_layer"].iloc[0], "probe/purity": part["probe_layer"].iloc[0]}
    shapes, notes = _marks(marks, layers)
    return {
        "data": traces,
        "layout": figure_layout(
            f"{class_label(a, names)} ↔ {class_label(b, names)}: share of a layer's units patched "
            "from the other class before the median prediction follows it (lower: the units "
            "carry the difference; a gap: it never follows)",
            xaxis={"title": {"text": "layer"}, "type": "category"},
            yaxis={
                "title": {"text": "share of the layer's units"},
                "tickformat": ".0%",
                "range": [0, 1.05],
            },
            shapes=shapes,
            annotations=notes,
        ),
    }


def _marks(marks: Mapping[str, Any], layers: list[str]) -> tuple[list[dict], list[dict]]:
    """A dashed line and a note at each marked layer that was patched; a note naming it (or
    saying there is none) at the top right otherwise."""
    shapes, notes = [], []
    for i, (what, layer) in enumerate(marks.items()):
        colour = PALETTE[i + 2]
        if not isinstance(layer, str):
            text, at = f"no {what} layer", {"x": 1.0, "xref": "paper", "xanchor": "right"}
        elif layer not in layers:  # e.g. the probe's answer is the logits: not patched
            text, at = f"{what} layer: {layer}", {"x": 1.0, "xref": "paper", "xanchor": "right"}
        else:
            text, at = f"{what} layer", {"x": layer, "xref": "x", "xanchor": "left"}
            line = {"color": colour, "dash": "dash"}
            shapes.append(
                {"type": "line", "xref": "x", "yref": "paper", "x0": layer, "x1": layer}
                | {"y0": 0, "y1": 1, "line": line}
            )
        notes.append(
            at
            | {"y": 1.0 - 0.08 * i, "yref": "paper", "text": text, "showarrow": False}
            | {"font": {"color": colour}}
        )
    return shapes, notes


def route_figure(
    summary: pd.DataFrame, label: int, trained: list[int], names: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """Per layer and trained class: how far along the way from its call's route to that class's
    route the median sample of ``label`` must be moved before it is called that class (with
    intervals; a gap: not even the whole way), and how often a random move as long switches."""
    part = summary[summary["label"] == label]
    part = part[part["group"] == ("unseen" if label not in trained else "trained")]
    if part.empty:
        return message_figure(f"no route moves for {class_label(label, names)}")
    traces = []
    for target, line in part.groupby("target", sort=False):
        traces += _route_traces(line, int(target), class_colour(int(target), trained), names)
    return {
        "data": traces,
        "layout": figure_layout(
            f"{class_label(label, names)}: the share of the way onto each trained class's route "
            "that changes the median sample's call (a gap: not even the whole way)",
            xaxis={"title": {"text": "layer"}, "type": "category"},
            yaxis={
                "title": {"text": "share of the way (median)"},
                "tickformat": ".0%",
                "rangemode": "tozero",
            },
            yaxis2={
                "title": {"text": "random moves that switch"},
                "overlaying": "y",
                "side": "right",
                "range": [0, 1],
                "tickformat": ".0%",
                "showgrid": False,
            },
            legend={"orientation": "h", "y": -0.25},
            margin={"l": 60, "r": 70, "t": 50, "b": 45},
        ),
    }


def _route_traces(
    line: pd.DataFrame, target: int, colour: str, names: Mapping[int, str] | None
) -> list[dict[str, Any]]:
    """One target's median share of the way per layer (with intervals), and its random moves."""
    values = line["switch_fraction"].to_numpy(dtype=float)
    name = f"onto {class_label(int(target), names)}'s route"
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": line["layer"].tolist(),
            "y": values,
            "line": {"color": colour, "width": 3},
            "error_y": _error_bars(values, line, "switch_fraction"),
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"random move as long: share called {class_label(int(target), names)}",
            "x": line["layer"].tolist(),
            "y": line["random_moved"].to_numpy(dtype=float),
            "yaxis": "y2",
            "line": {"color": colour, "dash": "dot", "width": 1},
        },
    ]
    return traces
