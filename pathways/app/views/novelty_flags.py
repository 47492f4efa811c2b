"""The Novelty view's decisions: Benjamini–Hochberg flags at a chosen false discovery rate from
a run's stored conformal p-values, the score threshold they amount to, and the flagged share of
each class's screened samples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.conformal import decision_row, flag_novel, proportion_interval
from pathways.analysis.novelty_report import percent_or_dash
from pathways.app.figures import class_colour, figure_layout, message_figure
from pathways.store.summaries import class_label


@dataclass(frozen=True)
class Flags:
    """One score's flags over the screened samples at ``alpha``: ``flagged`` (bool, in
    ``screened``'s row order), the figures of :func:`decision_row`, and the score threshold
    (the lowest flagged score; None when nothing is flagged)."""

    screened: pd.DataFrame
    flagged: np.ndarray
    alpha: float
    figures: dict[str, Any]
    threshold: float | None
    calibration: int


def flags_at(scores: pd.DataFrame, pvalues: pd.DataFrame, method: str, alpha: float) -> Flags:
    """Flags of ``method`` at false discovery rate ``alpha`` over the run's screened samples
    (``scores`` with its ``role`` column; ``pvalues`` by sample_id)."""
    table = scores.merge(
        pvalues[["sample_id", method]].rename(columns={method: "p"}), on="sample_id"
    )
    screened = table[table["role"] == "screened"]
    p = screened["p"].to_numpy(dtype=float)
    flagged = flag_novel(p, alpha) if np.isfinite(p).all() else np.zeros(len(p), bool)
    figures = decision_row(
        screened[method].to_numpy(float), p, flagged, ~screened["seen"].to_numpy(), alpha
    )
    threshold = float(screened.loc[flagged, method].min()) if flagged.any() else None
    return Flags(
        screened, flagged, alpha, figures, threshold, int((table["role"] == "calibration").sum())
    )


def flags_title(flags: Flags) -> str:
    f = flags.figures
    trained = f["screened"] - f["novel"]
    return (
        f"flags at a false discovery rate of {percent_or_dash(flags.alpha)} (Benjamini–Hochberg on "
        f"conformal p-values from {flags.calibration} calibration samples)<br>flagged "
        f"{f['flagged_novel']} of {f['novel']} unseen and {f['flagged'] - f['flagged_novel']} "
        f"of {trained} trained screened samples: realised FDR {percent_or_dash(f['fdp'])}, power "
        f"{percent_or_dash(f['power'])}<br>unguaranteed p ≤ α: power {percent_or_dash(f['uncorrected_power'])}"
        f", FDR {percent_or_dash(f['uncorrected_fdp'])} · best threshold knowing the answers: power "
        f"{percent_or_dash(f['oracle_power'])}"
    )


def flags_figure(
    flags: Flags, classes: list[int], names: Mapping[int, str] | None = None
) -> dict[str, Any]:
    """Per class: the share of its screened samples flagged, with a Wilson 95 % interval."""
    if flags.screened.empty:
        return message_figure("no screened samples: the run has no held-out test samples")
    shown = [c for c in classes if (flags.screened["label"] == c).any()]
    shares, lows, highs, counts = [], [], [], []
    for c in shown:
        mine = flags.flagged[(flags.screened["label"] == c).to_numpy()]
        low, high = proportion_interval(int(mine.sum()), len(mine))
        shares.append(mine.mean())
        lows.append(low)
        highs.append(high)
        counts.append(f"{int(mine.sum())} of {len(mine)}")
    shares_arr = np.array(shares)
    trace = {
        "type": "bar",
        "x": [f"{class_label(c, names)} ({n})" for c, n in zip(shown, counts, strict=True)],
        "y": shares_arr,
        "marker": {"color": [class_colour(c, classes) for c in shown]},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": np.array(highs) - shares_arr,
            "arrayminus": shares_arr - np.array(lows),
        },
        "name": "flagged share",
    }
    return {
        "data": [trace],
        "layout": figure_layout(
            flags_title(flags),
            yaxis={"title": {"text": "share of screened samples flagged"}, "range": [0, 1.1]},
            xaxis={"type": "category", "title": {"text": "class"}},
            margin={"l": 50, "r": 20, "t": 110, "b": 45},
        ),
    }


def threshold_marks(threshold: float | None) -> dict[str, Any]:
    """Layout additions marking the score threshold of the flags on a histogram."""
    if threshold is None:
        return {}
    return {
        "shapes": [
            {
                "type": "line",
                "x0": threshold,
                "x1": threshold,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#c0392b", "dash": "dash", "width": 2},
            }
        ],
        "annotations": [
            {
                "x": threshold,
                "y": 1,
                "yref": "paper",
                "text": "flagged from here",
                "showarrow": False,
                "xanchor": "left",
                "font": {"color": "#c0392b"},
            }
        ],
    }
