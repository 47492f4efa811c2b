"""The report's novelty decisions: what the flags at the target false discovery rate did, and
the reasons behind an unseen class's most and least unusual samples.

:func:`novelty_decisions` gathers the figures from a novelty step's outputs (``scores``,
``decisions``, ``reasons``); :func:`decision_lines` and :func:`unusual_lines` say them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.conformal import proportion_interval
from pathways.analysis.novelty_reasons import reason_text

Namer = Callable[[Any], str]
EXAMPLES = 2
"""Most and least unusual samples of each unseen class the report explains."""


def _example(scores: pd.DataFrame, reasons: pd.DataFrame, sample_id: int) -> dict[str, Any]:
    """One sample's score, p-value, flag and reason (its ``reasons`` row)."""
    row = reasons.loc[sample_id]
    reason = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.to_dict().items()}
    return {
        "sample_id": int(sample_id),
        "pvalue": float(scores.loc[sample_id, "pvalue"]),
        "flagged": bool(scores.loc[sample_id, "novel"]),
        **reason,
    }


def novelty_decisions(novelty: Mapping[str, Any], ours: str, unseen: list[int]) -> dict[str, Any]:
    """Our score's flags over the screened samples (``screen``: counts, the realised false
    discovery proportion and power with Wilson intervals, the uncorrected threshold's and the
    best reachable power) and, per unseen class, its flagged share and the reasons of its
    most and least unusual test samples."""
    decisions = novelty["decisions"]
    screen = decisions[decisions["method"] == ours].iloc[0].to_dict()
    scores = novelty["scores"].set_index("sample_id")
    reasons = novelty["reasons"].set_index("sample_id")
    screened = scores[scores["role"] == "screened"]
    per_class = {}
    for u in unseen:
        mine = screened[screened["label"] == u]
        flagged = int(mine["novel"].sum())
        low, high = proportion_interval(flagged, len(mine))
        test = scores[(scores["label"] == u) & (scores["split"].astype(str) == "test")]
        ranked = test[ours].sort_values(ascending=False).index
        per_class[int(u)] = {
            "screened": len(mine),
            "flagged": flagged,
            "share": flagged / len(mine) if len(mine) else float("nan"),
            "share_low": low,
            "share_high": high,
            "most_unusual": [_example(scores, reasons, i) for i in ranked[:EXAMPLES]],
            "least_unusual": [_example(scores, reasons, i) for i in ranked[::-1][:EXAMPLES]],
        }
    return {"method": ours, "screen": screen, "by_class": per_class}


def _known(value: float | None) -> bool:
    """A figure that exists (read back from JSON, a missing one is None)."""
    return value is not None and bool(np.isfinite(value))


def percent_or_dash(share: float | None) -> str:
    """``21 %``, or ``–`` for a figure that does not exist (None or NaN)."""
    return f"{100 * share:.0f} %" if _known(share) else "–"


def _bracket(low: float | None, high: float | None) -> str:
    return f" [{100 * low:.0f}, {100 * high:.0f}]" if _known(low) and _known(high) else ""


def _of_class(decisions: Mapping[str, Any] | None, u: int) -> Mapping[str, Any] | None:
    """Class ``u``'s figures, whether the keys are ints or strings (read back from JSON)."""
    if not decisions:
        return None
    by_class = decisions["by_class"]
    return by_class.get(u, by_class.get(str(u)))


def decision_lines(decisions: Mapping[str, Any] | None, u: int, name: Namer) -> list[str]:
    """What the novelty flags did for unseen class ``u``, and the screen's false discovery
    rate against its target."""
    mine = _of_class(decisions, u)
    if decisions is None or mine is None:
        return []
    s = decisions["screen"]
    if not s["calibration"]:
        return [
            "  No novelty flags: too few trained-class test samples to hold any out for "
            "calibration (a class needs at least two) — give the data more samples per class.",
            "",
        ]
    trained = s["screened"] - s["novel"]
    return [
        f"  Flagged as novel at a false discovery rate of {percent_or_dash(s['alpha'])} "
        f"(Benjamini–Hochberg on conformal p-values against {s['calibration']} held-out "
        f"trained-class test samples): **{mine['flagged']} of its {mine['screened']} screened "
        f"test samples** ({percent_or_dash(mine['share'])}{_bracket(mine['share_low'], mine['share_high'])}); "
        f"{s['flagged'] - s['flagged_novel']} of {trained} trained-class samples were flagged "
        f"with them (realised false discovery rate {percent_or_dash(s['fdp'])}"
        f"{_bracket(s['fdp_low'], s['fdp_high'])}; power over every unseen class "
        f"{percent_or_dash(s['power'])}). Without the guarantee, p ≤ {s['alpha']:g} alone would flag "
        f"{percent_or_dash(s['uncorrected_power'])} of unseen samples with {percent_or_dash(s['uncorrected_fdp'])} "
        f"false alarms; the best threshold chosen knowing the answers would reach "
        f"{percent_or_dash(s['oracle_power'])} at the target rate"
        f"{_resolution(s) if _costly(s) else ''}.",
        "",
    ]


def _costly(s: Mapping[str, Any]) -> bool:
    """The guarantee costs more than 10 points of power against the best threshold."""
    return _known(s["power"]) and _known(s["oracle_power"]) and s["power"] < s["oracle_power"] - 0.1


def _resolution(s: Mapping[str, Any]) -> str:
    """Why the guarantee may cost power: the smallest p-value the calibration set allows."""
    n = int(s["calibration"])
    return (
        f" (with {n} calibration samples no p-value falls below 1/{n + 1} = {1 / (n + 1):.3g}, "
        "and a few trained-class samples scoring high raise every p-value: more calibration "
        "samples, `analysis.novelty_calibration`, buy power)"
    )


def unusual_lines(decisions: Mapping[str, Any] | None, u: int, name: Namer) -> list[str]:
    """Why the unseen class's most and least unusual test samples score as they do."""
    mine = _of_class(decisions, u)
    if mine is None:
        return []
    lines = [f"  Why {name(u)}'s samples look unusual (the largest part of the score):", ""]
    for label, examples in (("most", mine["most_unusual"]), ("least", mine["least_unusual"])):
        for e in examples:
            flag = "flagged" if e["flagged"] else "not flagged"
            lines.append(
                f"  - {label} unusual, sample {e['sample_id']} (score {e['statistic']:.1f}, "
                f"p = {e['pvalue']:.3g}, {flag}): {reason_text(e, name)}."
            )
    return [*lines, ""]
