"""The report's words, in order: its sentences as Markdown lines, its tables as data.

:func:`report_blocks` walks a report (the report stage's dict, or its ``report.json`` read back)
once, so the Markdown file (:mod:`pathways.analysis.report_markdown`) and the terminal
(:mod:`pathways.analysis.report_terminal`) say the same things; each writes the tables its own
way. Class-keyed mappings have int keys as built and string keys as read back from JSON:
:func:`share_of` reads either.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pathways.analysis.dynamics_report import markdown_during_training
from pathways.analysis.interventions_report import ablation_lines, patching_lines, route_lines
from pathways.analysis.novelty_report import decision_lines, unusual_lines
from pathways.analysis.strategies_report import strategy_lines

Namer = Callable[[Any], str]

DEAD_LISTED = 24
"""A layer's dead units are named in full up to this many; beyond, the first ones and a count."""


@dataclass(frozen=True)
class Table:
    """A table of the report: ``kind`` (``curve``, ``units``, ``unseen_layers``, ``novelty``),
    the report's part it shows, the classes' names and the trained classes."""

    kind: str
    rows: list[dict[str, Any]]
    name: Namer
    trained: tuple[int, ...] = ()


Block = str | Table


def class_namer(report: Mapping[str, Any]) -> Namer:
    names = report.get("class_names", {})
    return lambda c: names.get(str(c), str(c))


def share_of(shares: Mapping[Any, float], key: Any) -> float:
    """``shares[key]`` whether its keys are ints or strings (JSON); 0 where absent."""
    return float(shares.get(key, shares.get(str(key), 0.0)))


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def pair_words(q: Mapping[str, Any], name: Namer) -> str:
    """``1 vs 7``: the pair in the report's order (that of ``trained_classes``)."""
    return f"{name(q['class_a'])} vs {name(q['class_b'])}"


def with_interval(m: Mapping[str, Any], value: str, low: str, high: str) -> str:
    """``0.978 [0.962, 0.991]`` (the value alone when no interval was computed)."""
    if m.get(low) is None or m.get(high) is None:
        return f"{m[value]:.3f}"
    return f"{m[value]:.3f} [{m[low]:.3f}, {m[high]:.3f}]"


def report_blocks(report: Mapping[str, Any]) -> list[Block]:
    """The whole report: per model, the three questions answered in sentences and tables."""
    trained = list(report["trained_classes"])
    name = class_namer(report)
    listed = ", ".join(map(name, trained))
    unseen = ", ".join(map(name, report["unseen_classes"])) or "none"
    blocks: list[Block] = [f"# pathways report — trained on {listed}; unseen {unseen}", ""]
    for model, r in report["models"].items():
        blocks += _model_blocks(model, r, trained, name)
    return blocks


def _model_blocks(model: str, r: Mapping[str, Any], trained: list[int], name: Namer) -> list[Block]:
    acc = r["accuracy"]
    how = "" if r.get("trained_here", True) else " (loaded from its checkpoint, not trained here)"
    blocks: list[Block] = [
        f"## {model}",
        "",
        f"Accuracy{how}: train {acc.get('train', float('nan')):.3f}, test {acc.get('test', float('nan')):.3f}.",
        "",
        "### 1. From which layer does the network treat the trained classes differently?",
        "",
    ]
    checks = r.get("interventions")
    for q in r["question_1"]:
        blocks += _question_1(q, name)
        blocks += patching_lines(checks, q["class_a"], q["class_b"], name)
    blocks += ["### 2. Are the signatures of the trained classes different?", ""]
    for q in r["question_2"]:
        blocks += _question_2(q, name)
    blocks += ablation_lines(checks, trained, name)
    blocks += ["### 3. What does an unseen class look like, and how unusual is it?", ""]
    for q in r["question_3"]:
        blocks += _question_3(q, trained, name)
        blocks += decision_lines(r.get("novelty_decisions"), q["class"], name)
        blocks += unusual_lines(r.get("novelty_decisions"), q["class"], name)
        blocks += route_lines(checks, q["class"], name)
    if not r["question_3"]:
        blocks += ["- This experiment has no unseen classes (`unseen_classes = []`).", ""]
    if r.get("novelty_pooled"):
        blocks += ["- **All unseen classes pooled**:", ""]
        blocks += _novelty(r["novelty_pooled"], name, "unseen samples of every unseen class")
    blocks += strategy_lines(r.get("strategies"), name)
    if r.get("during_training"):
        blocks += markdown_during_training(r["during_training"], name)
    if r["stability"]:
        blocks += _stability(r["stability"], name)
    elif not r.get("trained_here", True):
        blocks += [
            "### Stability across training seeds",
            "",
            "- Not measured: this model comes from a checkpoint, so it cannot be re-trained "
            "at other seeds.",
            "",
        ]
    return blocks


def _question_1(q: Mapping[str, Any], name: Namer) -> list[Block]:
    """One trained pair: its divergence layer, and the divergence curve as a table."""
    pair = pair_words(q, name)
    if q["divergence_layer"] is None:
        blocks: list[Block] = [f"- **{pair}**: no layer meets the rule ({q['rule']})."]
    else:
        blocks = [
            f"- **{pair}: from `{q['divergence_layer']}`** — linear-probe accuracy {q['probe_accuracy']:.3f} "
            f"(best layer {q['best_probe_accuracy']:.3f}) and cluster purity {q['cluster_purity']:.3f} ({q['rule']})."
        ]
    if q.get("layer_by_seed"):
        seeds = ", ".join(
            f"seed {s}: `{layer}`" if layer else f"seed {s}: no layer"
            for s, layer in q["layer_by_seed"].items()
        )
        blocks.append(f"  Across training seeds: {seeds}.")
    return [*blocks, "", Table("curve", q["curve"], name), ""]


def _question_2(q: Mapping[str, Any], name: Namer) -> list[Block]:
    """One trained pair: how many units differ per layer (and how many are dead), and the
    strongest ones."""
    a, b = name(q["class_a"]), name(q["class_b"])
    layers = q["layers"]
    most = max(layers, key=lambda x: x["signature_distance"])
    shares = [x["share_significant"] for x in layers]
    verdict = "yes" if any(x["n_significant"] for x in layers) else "no"
    live = [
        x["n_significant"] / (x["n_units"] - x["n_dead"])
        for x in layers
        if x.get("n_dead") is not None and x["n_units"] > x["n_dead"]
    ]
    of_live = (
        f"{100 * min(live):.0f}–{100 * max(live):.0f} % of its live units; "
        if live and any(x.get("n_dead") for x in layers)
        else ""
    )
    units = ", ".join(
        f"`{u['layer']}:{u['unit']}` (d = {u['cohen_d']:+.1f}, AUROC {max(u['auroc'], 1 - u['auroc']):.2f})"
        for u in q["strongest_units"][:5]
    )
    return [
        f"- **{a} vs {b}: {verdict}** — {100 * min(shares):.0f}–{100 * max(shares):.0f} % of the units of a layer differ "
        f"({of_live}Mann–Whitney, Benjamini–Hochberg FDR 5 %); the largest gap is at `{most['layer']}` "
        f"(signature distance {most['signature_distance']:.2f}, RMS Cohen's d).",
        "",
        Table("units", layers, name),
        "",
        *_dead_sentence(layers),
        f"  Strongest single units: {units}. (d > 0: higher for {a}; the AUROC is counted either "
        f"way round, so 1.00 means the unit alone tells {a} from {b} perfectly.)",
        "",
    ]


def _dead_sentence(layers: list[Mapping[str, Any]]) -> list[str]:
    """Which units are dead (never vary, so can never differ), layer by layer."""
    known = [x for x in layers if x.get("dead_units") is not None]
    if not known:
        return []
    dead = [x for x in known if x["dead_units"]]
    if not dead:
        return ["  No unit is dead: every unit's activation varies over the samples.", ""]
    parts = []
    for x in dead:
        units = x["dead_units"]
        shown = ", ".join(units[:DEAD_LISTED])
        more = f" and {len(units) - DEAD_LISTED} more" if len(units) > DEAD_LISTED else ""
        parts.append(f"`{x['layer']}`: {len(units)} of {x['n_units']} ({shown}{more})")
    return [
        "  Dead units (the same activation for every sample, so they cannot differ): "
        + "; ".join(parts)
        + ".",
        "",
    ]


def _question_3(q: Mapping[str, Any], trained: list[int], name: Namer) -> list[Block]:
    """One unseen class: what it is called, where it goes layer by layer, its paths, and how
    unusual every novelty score finds it."""
    predicted = ", ".join(
        f"{percent(share_of(q['predicted_as'], c))} as {name(c)}" for c in trained
    )
    blocks: list[Block] = [
        f"- **{name(q['class'])}** ({q['n']} samples): the network calls them {predicted} (mean confidence {q['mean_confidence']:.2f}).",
        "",
        Table("unseen_layers", q["by_layer"], name, tuple(trained)),
        "",
        f"  Where it goes: {trail_sentence(q['cluster_trail'], name)}.",
    ]
    if q["merges"]:
        m, left = q["merges"], q["leaves"]
        leave = (
            f"; it leaves them at `{left['layer']}`" if left else "; it stays there to the output"
        )
        blocks.append(
            f"  It merges with {name(m['trained_class'])}'s clusters at `{m['layer']}` ({percent(m['share'])}){leave}."
        )
    else:
        blocks.append("  At no layer do most of its samples sit in one trained class's clusters.")
    paths = "; ".join(f"`{p['path']}` ({percent(p['share'])})" for p in q["dominant_paths"])
    own = "; ".join(f"{name(c)}: `{p}`" for c, p in q["trained_dominant_paths"].items())
    blocks += ["", f"  Its dominant paths: {paths}. Trained classes' dominant paths: {own}."]
    if q.get("new_path_share"):
        rare = q["new_path_share"]
        blocks.append(
            f"  {percent(rare['unseen'])} of its test samples took a path no train sample of "
            f"the trained classes took (trained classes' test samples: {percent(rare['trained'])})."
        )
    return [*blocks, "", *_novelty(q["novelty"], name)]


def trail_sentence(trail: list[Mapping[str, Any]], name: Namer) -> str:
    """Layer by layer, where most of the unseen class sits: *mostly* (≥ 50 %), *most often*
    (the largest share, under half) or *split* (a tie)."""
    return ", ".join(f"`{t['layer']}` {_where(t, name)}" for t in trail)


def _where(t: Mapping[str, Any], name: Namer) -> str:
    def place(owner: Any) -> str:
        return "outside trained clusters" if owner == "outlier" else f"in {name(owner)}'s clusters"

    owner = t["most_in"] if "most_in" in t else t["mostly_in"]  # mostly_in: reports before v8
    tied = t.get("tied_with") or []
    if tied:
        places = " and ".join(place(o) for o in [owner, *tied])
        return f"split evenly {places} ({percent(t['share'])} each)"
    if t["share"] == 1:
        return f"all {place(owner)} (100 %)"
    how = "mostly" if t["share"] >= 0.5 else "most often"
    share = (  # 99.8 %, rounded down: never "(100 %)" short of all
        f"{math.floor(1000 * t['share']) / 10:.1f} %"
        if t["share"] >= 0.995
        else percent(t["share"])
    )
    return f"{how} {place(owner)} ({share})"


def _novelty(novelty: list[dict[str, Any]], name: Namer, what: str = "unseen") -> list[Block]:
    ours = next(m for m in novelty if m["kind"] == "ours")
    best = max((m for m in novelty if m["kind"] == "baseline"), key=lambda m: m["auroc"])
    sure = (
        " (95 % bootstrap intervals in brackets; ours − it is our AUROC minus the method's)"
        if ours.get("auroc_low") is not None
        else ""
    )
    return [
        f"  How unusual: our novelty score (`{ours['method']}`) separates {what} from trained test "
        f"samples with AUROC **{with_interval(ours, 'auroc', 'auroc_low', 'auroc_high')}** "
        f"(FPR at 95 % TPR {with_interval(ours, 'fpr_at_95_tpr', 'fpr_low', 'fpr_high')}); "
        f"best baseline `{best['method']}` {with_interval(best, 'auroc', 'auroc_low', 'auroc_high')}{sure}.",
        "",
        Table("novelty", novelty, name),
        "",
    ]


def _stability(s: Mapping[str, Any], name: Namer) -> list[Block]:
    aris = ", ".join(f"{k} {v:.2f}" for k, v in s["mean_cluster_ari"].items())
    jac = ", ".join(f"{name(k)}: {v:.2f}" for k, v in s["dominant_path_jaccard"].items())
    return [
        "### Stability across training seeds " + str(s["seeds"]),
        "",
        f"- Cluster agreement (mean ARI between seeds): {aris}.",
        f"- Path agreement (ARI of whole-path partitions): {s['mean_path_ari']:.2f}; dominant-path overlap (Jaccard) per class: {jac}.",
        f"- Divergence layer the same in every seed: {'yes' if s['same_divergence_layer'] else 'no'}.",
        "",
    ]
