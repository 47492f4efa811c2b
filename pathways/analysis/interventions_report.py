"""The report's checks by intervention: under each question, what editing the network showed.

:func:`interventions_checks` gathers one model's ``interventions`` outputs into the report's
JSON; :func:`patching_lines` (question 1), :func:`ablation_lines` (question 2) and
:func:`route_lines` (question 3) say them in sentences, whichever way they came out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from pathways.analysis.records import records

Namer = Callable[[Any], str]


def interventions_checks(
    outputs: Mapping[str, Any] | None, trained: list[int], unseen: list[int]
) -> dict[str, Any] | None:
    """The checks of one model (None when the run has no interventions step)."""
    if outputs is None:
        return None
    settings = outputs["settings"]
    return {
        "settings": {
            k: settings.get(k)
            for k in ("samples_per_class", "ablation", "max_share", "random_draws", "break_share")
        }
        | {"samples_run": settings.get("samples_per_class_run", settings.get("samples_per_class"))},
        "patching": _patching(outputs["patching_summary"], trained),
        "ablation": {
            int(c): records(group.drop(columns=["class"]))
            for c, group in outputs["ablation_summary"].groupby("class", sort=False)
        },
        "routes": _routes(outputs["route_summary"], unseen),
    }


def _budgeted(settings: Mapping[str, Any]) -> str:
    """ ", not the N asked: …" when the budget cut the samples a model was checked on."""
    asked, run = settings.get("samples_per_class"), settings.get("samples_run")
    if asked is None or run is None or run >= asked:
        return ""
    return f", not the {asked} asked: interventions.budget held the edits' cost"


def _patching(summary: pd.DataFrame, trained: list[int]) -> list[dict[str, Any]]:
    pairs = []
    for (a, b), group in summary.groupby(["class_a", "class_b"], sort=False):
        if a in trained and b in trained and trained.index(a) > trained.index(b):
            a, b = b, a  # pooled over both directions: symmetric
        first = group.iloc[0]
        layers = group.drop(columns=["class_a", "class_b", "causal_layer", "probe_layer", "agree"])
        pairs.append(
            {
                "class_a": int(a),
                "class_b": int(b),
                "causal_layer": first["causal_layer"],
                "probe_layer": first["probe_layer"],
                "agree": bool(first["agree"]),
                "layers": records(layers.drop(columns=["rule"])),
            }
        )
    return pairs


_KEYS = ["group", "label", "target", "deciding_layer"]


def _routes(summary: pd.DataFrame, unseen: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    mine = summary[(summary["group"] == "unseen") & summary["label"].isin(unseen)]
    for (label, target), group in mine.groupby(["label", "target"], sort=False):
        found.setdefault(int(label), []).append(
            {
                "target": int(target),
                "deciding_layer": group["deciding_layer"].iloc[0],
                "deciding_clear": bool(group["deciding_clear"].iloc[0]),
                "layers": records(group.drop(columns=[*_KEYS, "deciding_clear"])),
            }
        )
    return found


def _share(row: Mapping[str, Any], key: str) -> str:
    value, low, high = row.get(key), row.get(f"{key}_low"), row.get(f"{key}_high")
    if value is None:
        return "never"
    if low is None or high is None:
        return f"{100 * value:.0f} %"
    return f"{100 * value:.0f} % [{100 * low:.0f}, {100 * (high if high is not None else 1):.0f}]"


def patching_lines(checks: Mapping[str, Any] | None, a: int, b: int, name: Namer) -> list[str]:
    """Question 1, pair (a, b): where patching the pair's most different units moves the
    prediction, beside random units, and the causal layer beside the probe/purity layer."""
    if not checks:
        return []
    found = [p for p in checks["patching"] if {p["class_a"], p["class_b"]} == {a, b}]
    if not found:
        return []
    p = found[0]
    per_layer = "; ".join(
        f"`{x['layer']}` {_share(x, 'top_share')} (random order {_share(x, 'random_share')})"
        for x in p["layers"]
    )
    whole = [x["whole_layer_follows"] for x in p["layers"]]
    if p["causal_layer"] is None:
        verdict = (
            "**No causal divergence layer**: at no layer do the pair's most different units carry "
            "the prediction more than as many arbitrary units"
        )
    else:
        verdict = f"**Causal divergence layer: `{p['causal_layer']}`**"
    probe = p["probe_layer"]
    agreement = (
        f"the probe/purity answer is `{probe}`: they {'agree' if p['agree'] else 'disagree'}"
        if probe
        else "the probe/purity rule found no layer"
    )
    return [
        f"  **Checked by patching** (a test sample of one class gets, at one layer, a paired "
        f"sample's activations of the other, the pair's most different units first; both "
        f"directions): the median sample's prediction follows the other class once this share "
        f"of the layer's units is patched — {per_layer}. {verdict}; {agreement}. Patching a "
        f"whole layer hands the prediction over for {100 * min(whole):.0f}–{100 * max(whole):.0f} % "
        "of samples (in a network without skip connections a layer passes everything on: a "
        "check, not a finding).",
        "",
    ]


def ablation_lines(checks: Mapping[str, Any] | None, trained: list[int], name: Namer) -> list[str]:
    """Question 2: per trained class, what switching off its signature's units does, beside
    random and attribution-ranked units, and the verdict over all (class, layer) cases."""
    if not checks:
        return []
    s = checks["settings"]
    cases = [
        row
        for c in trained
        for row in checks["ablation"].get(c, checks["ablation"].get(str(c), []))
    ]
    if not cases:
        return []
    beats_random = sum(bool(r.get("beats_random")) for r in cases)
    beats_ig = sum(bool(r.get("beats_attribution")) for r in cases)
    ig_wins = sum((r.get("extra_margin_drop_vs_attribution_high") or 0) < 0 for r in cases)
    lines = [
        f"- **Checked by ablation** (up to {100 * s['max_share']:.0f} % of a layer's units set to "
        f"the trained classes' {s['ablation']}, on up to {s['samples_run']} test samples "
        f"per class{_budgeted(s)}; {s['random_draws']} random draws): the signature's units "
        "lower the class's "
        f"logit margin more than as many random units in **{beats_random} of {len(cases)}** "
        f"(class, layer) cases, and more than the units layer Integrated Gradients ranks highest "
        f"in **{beats_ig} of {len(cases)}** (those lower it more than the signature's in "
        f"{ig_wins}).",
    ]
    for c in trained:
        rows = checks["ablation"].get(c, checks["ablation"].get(str(c), []))
        if rows:
            lines.append(_class_ablation(c, rows, s["break_share"], name))
    return [*lines, ""]


def _class_ablation(c: int, rows: list[Mapping[str, Any]], share: float, name: Namer) -> str:
    at_max = ", ".join(
        f"`{r['layer']}` ({r['max_k']} of {r['n_units']}) {r['accuracy_at_max_signature']:.2f} / "
        f"{r['accuracy_at_max_random']:.2f} / {r['accuracy_at_max_attribution']:.2f}"
        for r in rows
    )
    margin = ", ".join(
        f"`{r['layer']}` {r['extra_margin_drop_vs_random']:+.2f} "
        f"[{r['extra_margin_drop_vs_random_low']:+.2f}, {r['extra_margin_drop_vs_random_high']:+.2f}]"
        for r in rows
    )
    broken = [
        f"`{r['layer']}` by {ranking} at {r[f'break_{ranking}']:.0f} units"
        for r in rows
        for ranking in ("signature", "random", "attribution")
        if r.get(f"break_{ranking}") is not None
    ]
    halved = (
        f"Accuracy halves: {', '.join(broken)}."
        if broken
        else f"No ablation brings its accuracy to {share:g} × its untouched value."
    )
    return (
        f"  - **{name(c)}** (untouched accuracy {rows[0]['clean_accuracy']:.2f}): accuracy with "
        f"the largest ablation, signature / random / Integrated Gradients: {at_max}. {halved} "
        f"Margin lowered beyond random units' (signature − random): {margin}."
    )


def route_lines(checks: Mapping[str, Any] | None, u: int, name: Namer) -> list[str]:
    """Question 3, unseen class ``u``: how far it must be moved toward each trained class's
    route, layer by layer, to be called that class, and where the smallest move suffices."""
    if not checks:
        return []
    moves = checks["routes"].get(u, checks["routes"].get(str(u), []))
    lines = []
    for m in moves:
        per_layer = "; ".join(f"`{x['layer']}` {_share(x, 'switch_fraction')}" for x in m["layers"])
        random = [x["random_moved"] for x in m["layers"]]
        if not m["deciding_layer"]:
            deciding = "no layer: no move switches the median sample"
        elif m.get("deciding_clear"):
            deciding = (
                f"**deciding layer `{m['deciding_layer']}`** (the smallest move suffices there; "
                "its interval lies below every other layer's)"
            )
        else:
            deciding = (
                f"the smallest move is at `{m['deciding_layer']}`, but its interval overlaps "
                "another layer's: **no single layer decides**"
            )
        lines.append(
            f"  **Checked by moving it onto {name(m['target'])}'s route** ({m['layers'][0]['n']} "
            f"samples not called {name(m['target'])}; its activation at one layer plus a share of "
            f"the way between the main-cluster centroids of the class it is called and of "
            f"{name(m['target'])}): the median sample is called {name(m['target'])} after "
            f"{per_layer} of the way; {deciding}. A random move as long as the whole way changes "
            f"{100 * min(random):.0f}–{100 * max(random):.0f} % of the calls."
        )
        lines.append("")
    return lines
