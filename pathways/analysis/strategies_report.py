"""The report's strategies: how many ways each trained class is recognised, where each way
attends, and whether the ways take paths of their own.

:func:`strategies_summary` gathers one model's ``strategies`` outputs into the report's JSON;
:func:`strategy_lines` says them in sentences, whichever way they came out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pathways.analysis.records import records

Namer = Callable[[Any], str]

AGREE_P = 0.05
"""Strategies and paths agree when the NMI's permutation p-value is at most this."""

METHOD_NAMES = {"integrated_gradients": "Integrated Gradients", "gradcam": "Grad-CAM"}
"""The attribution methods' names in sentences (the report's and the explorer's)."""


def strategies_summary(outputs: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One model's strategies (None when the run has no strategies step)."""
    if outputs is None:
        return None
    settings = outputs["settings"]
    strategies = outputs["strategies"]
    return {
        "settings": {
            k: settings.get(k)
            for k in ("method", "method_note", "split", "clustering", "permutations", "mask_share")
        },
        "classes": [
            {**c, "strategies": records(strategies[strategies["class"] == c["class"]])}
            for c in records(outputs["classes"])
        ],
    }


def strategy_lines(summary: Mapping[str, Any] | None, name: Namer) -> list[str]:
    """The strategies section: per trained class, its strategies in sentences."""
    if not summary:
        return []
    s = summary["settings"]
    how = "the eigengap" if s["clustering"] == "spectral" else "HDBSCAN"
    lines = [
        "### Strategies: how does the network recognise each trained class?",
        "",
        f"Each class's {METHOD_NAMES.get(s['method'], s['method'])} maps (towards its own class, on "
        f"{s['split']} samples) grouped by spectral relevance analysis; the number of "
        f"strategies read from {how}." + (f" {s['method_note']}." if s.get("method_note") else ""),
        "",
    ]
    for c in summary["classes"]:
        lines += _class_lines(c, name, s["permutations"], s.get("mask_share"))
    return lines


def _class_lines(
    c: Mapping[str, Any], name: Namer, permutations: int, mask_share: float | None
) -> list[str]:
    cls = name(c["class"])
    k = c["k"]
    count = "one strategy" if k == 1 else f"{k} strategies"
    lines = [f"- **{cls}** is recognised by **{count}** ({c['n']} samples explained):"]
    for x in c["strategies"]:
        lines.append(f"  - {_strategy(x, cls, k)}{_masked(x, cls, mask_share)}")
    lines.append(f"  - {_agreement(c, cls, permutations)}")
    lines.append("")
    return lines


def _strategy(x: Mapping[str, Any], cls: str, k: int) -> str:
    label = "unassigned maps" if x["strategy"] < 0 else f"strategy {x['strategy']}"
    where = f"attends to the **{x['region']}**"
    others = x.get("region_share_elsewhere")
    if k > 1 and others is not None:
        where += (
            f" ({100 * x['region_share']:.0f} % of its positive attribution there, "
            f"{100 * others:.0f} % for the other {cls}s)"
        )
    path = f"follows path `{x['path']}` ({100 * x['path_share']:.0f} % of its samples"
    if x.get("path_share_elsewhere") is not None:
        path += f"; {100 * x['path_share_elsewhere']:.0f} % of the other {cls}s take it"
    return f"{label}, {100 * x['share']:.0f} % of {cls}s, {where} and {path})."


def _masked(x: Mapping[str, Any], cls: str, share: float | None) -> str:
    """The strategy checked on the network: how much blacking out its pixels costs its samples
    and the class's others, and what that says."""
    if share is None or x.get("masked_drop") is None:
        return ""
    text = (
        f" **Checked by blacking out** the {100 * share:.0f} % of pixels where its maps point more "
        f"than the other {cls}s' do: {cls}'s margin (its logit over the next class's) falls by "
        f"{x['masked_drop']:.2f} for its {cls}s"
    )
    if x.get("masked_drop_elsewhere") is None:
        return text + "."
    text += f", by {x['masked_drop_elsewhere']:.2f} for the other {cls}s"
    low, high = x.get("masked_gap_low"), x.get("masked_gap_high")
    if low is None or high is None:
        return text + "."
    gap = f"difference 95 % interval [{low:+.2f}, {high:+.2f}]"
    if low > 0:
        return text + f" ({gap}): those pixels matter more to this strategy, as its maps say."
    if high < 0:
        return text + f" ({gap}): they matter **less** to it than to the others: its maps mislead."
    return text + f" ({gap}): no clear difference, the maps are not confirmed."


def _agreement(c: Mapping[str, Any], cls: str, permutations: int) -> str:
    if c["paths"] <= 1:
        return f"All {c['n']} take one path: the strategies cannot take paths of their own."
    if c["k"] <= 1:
        return f"One strategy over {c['paths']} paths: nothing to tie the paths to."
    if c.get("nmi") is None:
        return "Strategies and paths not compared."
    figures = f"NMI {c['nmi']:.2f}, ARI {c['ari']:.2f}"
    p = c.get("nmi_p_value")
    if p is None:
        return (
            f"Strategies and paths: {figures} (no permutation test: `strategies.permutations = 0`)."
        )
    figures += f", p = {p:.3g} from {permutations} permutations"
    if p <= AGREE_P:
        return (
            f"**Strategies and paths agree** beyond chance ({figures}): the ways {cls} is "
            "recognised also run through the layers apart."
        )
    return (
        f"Strategies and paths **do not agree** beyond chance ({figures}): the ways {cls} is "
        "recognised share their paths."
    )
