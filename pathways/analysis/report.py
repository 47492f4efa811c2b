"""The three answers, in plain words with their figures: a report stage and its Markdown.

:func:`report_stage` gathers the analysis outputs of every model into one JSON-able dict;
:func:`render_markdown` writes it for people. ``pathways report RUN`` prints the Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.dynamics_report import during_training, markdown_during_training
from pathways.analysis.novelty_scores import ours_method
from pathways.planning import step_id
from pathways.progress import Progress


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _question_1(inputs: Mapping[str, Any], model: str) -> list[dict[str, Any]]:
    divergence = inputs[step_id("divergence", model)]["divergence"]
    chosen = inputs[step_id("divergence", model)]["divergence_layer"]
    stability = inputs.get(step_id("stability", model))
    answers = []
    for row in _records(chosen):
        pair = divergence[
            (divergence.class_a == row["class_a"]) & (divergence.class_b == row["class_b"])
        ]
        curve = _records(
            pair[
                [
                    "layer",
                    "depth",
                    "probe_accuracy",
                    "signature_distance",
                    "cluster_purity",
                    "nmi",
                    "cka_input",
                    "cka_logits",
                ]
            ]
        )
        if stability is not None:
            by_seed = stability["divergence_by_seed"]
            by_seed = by_seed[
                (by_seed.class_a == row["class_a"]) & (by_seed.class_b == row["class_b"])
            ]
            row["layer_by_seed"] = {
                int(s): layer if isinstance(layer, str) else None  # None: no layer meets the rule
                for s, layer in zip(by_seed["seed"], by_seed["divergence_layer"], strict=True)
            }
        answers.append({**row, "curve": curve})
    return answers


def _question_2(inputs: Mapping[str, Any], model: str, trained: list[int]) -> list[dict[str, Any]]:
    summary = inputs[step_id("signatures", model)]["difference_summary"]
    differences = inputs[step_id("signatures", model)]["differences"]
    answers = []
    for (a, b), group in summary.groupby(["class_a", "class_b"], sort=False):
        if a not in trained or b not in trained:
            continue
        units = differences[
            (differences.class_a == a)
            & (differences.class_b == b)
            & differences.significant
            & (differences.layer != "logit")
        ]
        strongest = units.reindex(units["cohen_d"].abs().sort_values(ascending=False).index).head(8)
        answers.append(
            {
                "class_a": int(a),
                "class_b": int(b),
                "layers": _records(group.drop(columns=["class_a", "class_b"])),
                "strongest_units": _records(
                    strongest[["layer", "unit", "mean_a", "mean_b", "cohen_d", "auroc", "q_value"]]
                ),
            }
        )
    return answers


_NOVELTY_COLUMNS = [
    "method", "kind", "auroc", "auroc_low", "auroc_high",
    "fpr_at_95_tpr", "fpr_low", "fpr_high", "note",
]  # fmt: skip


def _novelty_rows(metrics: pd.DataFrame, differences: pd.DataFrame) -> list[dict[str, Any]]:
    """Each method's AUROC and FPR at 95 % TPR with their intervals, and our score minus it."""
    table = metrics[[c for c in _NOVELTY_COLUMNS if c in metrics.columns]]
    if not differences.empty:
        keep = ["method", "auroc_difference", "auroc_difference_low", "auroc_difference_high"]
        table = table.merge(differences[keep], on="method", how="left")
    return _records(table)


def _pooled_novelty(inputs: Mapping[str, Any], model: str) -> list[dict[str, Any]]:
    novelty = inputs[step_id("novelty", model)]
    differences = novelty["differences"]
    if not differences.empty:
        differences = differences[differences["unseen_class"].isna()]
    return _novelty_rows(novelty["metrics"], differences)


def _question_3(
    inputs: Mapping[str, Any], model: str, trained: list[int], unseen: list[int]
) -> list[dict[str, Any]]:
    flow = inputs[step_id("paths", model)]["unseen_flow"]
    affinity = inputs[step_id("novelty", model)]["signature_affinity"]
    distribution = inputs[step_id("paths", model)]["distribution"]
    metrics = inputs[step_id("novelty", model)]["metrics"]
    by_class = inputs[step_id("novelty", model)]["metrics_by_class"]
    differences = inputs[step_id("novelty", model)]["differences"]
    ours = ours_method(metrics)  # our score's column
    scores = inputs[step_id("novelty", model)]["scores"]
    predictions = inputs[step_id("capture", model)]["activations"][
        ["label", "predicted_class", "confidence"]
    ]
    answers = []
    for u in unseen:
        by_layer = []
        for layer, group in affinity[affinity.unseen_class == u].groupby("layer", sort=False):
            clusters = flow[(flow.unseen_class == u) & (flow.layer == layer)]
            by_layer.append(
                {
                    "layer": layer,
                    "closest_signature": {
                        int(c): float(s)
                        for c, s in zip(group.trained_class, group.share, strict=True)
                    },
                    "cluster_of": {
                        ("outlier" if c < 0 else int(c)): float(s)
                        for c, s in zip(clusters.trained_class, clusters.share, strict=True)
                    },
                }
            )
        merge = _merge_and_leave(by_layer)
        members = predictions[predictions.label == u]
        paths = distribution[distribution["class"] == u].head(3)
        trained_paths = distribution[
            distribution["class"].isin(trained) & (distribution["rank"] == 1)
        ]
        mine = by_class[by_class["unseen_class"] == u]
        new_path = _new_path_shares(inputs[step_id("paths", model)]["sample_paths"], u)
        mine_diff = (
            differences[differences["unseen_class"] == u] if not differences.empty else differences
        )
        answers.append(
            {
                "class": u,
                "n": int(len(members)),
                "predicted_as": {
                    int(k): float(v)
                    for k, v in members["predicted_class"]
                    .value_counts(normalize=True)
                    .sort_index()
                    .items()
                },
                "mean_confidence": float(members["confidence"].mean()),
                "by_layer": by_layer,
                **merge,
                "dominant_paths": _records(paths[["path", "n", "share"]]),
                "trained_dominant_paths": {
                    int(c): p
                    for c, p in zip(trained_paths["class"], trained_paths["path"], strict=True)
                },
                "new_path_share": new_path,
                "novelty": _novelty_rows(mine.drop(columns=["unseen_class"]), mine_diff),
                "median_score_unseen": float(scores.loc[scores.label == u, ours].median()),
                "median_score_trained": float(scores.loc[scores.seen, ours].median()),
            }
        )
    return answers


def _new_path_shares(sample_paths: pd.DataFrame, unseen_class: int) -> dict[str, float]:
    """How rare the unseen class's paths are: the share of its test samples whose path no
    fitted sample (trained classes, train split) took, beside the same share for the trained
    classes' test samples."""
    split = sample_paths["split"].astype(str)
    known = set(sample_paths.loc[sample_paths["seen"] & (split == "train"), "path"])
    test = sample_paths[split == "test"]
    new = ~test["path"].isin(known)
    return {
        "unseen": float(new[test["label"] == unseen_class].mean()),
        "trained": float(new[test["seen"]].mean()),
    }


def _merge_and_leave(by_layer: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the unseen class's samples mostly sit in one trained class's clusters (≥ 50 %):
    the first such layer (it *merges*), and the first later layer where that stops (it *leaves*)."""
    trail, merged, left = [], None, None
    for x in by_layer:
        owner, share = max(x["cluster_of"].items(), key=lambda kv: kv[1])
        trail.append({"layer": x["layer"], "mostly_in": owner, "share": share})
        majority = owner != "outlier" and share >= 0.5
        if merged is None and majority:
            merged = {"layer": x["layer"], "trained_class": owner, "share": share}
        elif (
            merged is not None
            and left is None
            and not (majority and owner == merged["trained_class"])
        ):
            left = {"layer": x["layer"], "mostly_in": owner, "share": share}
    return {"cluster_trail": trail, "merges": merged, "leaves": left}


def _stability(inputs: Mapping[str, Any], model: str) -> dict[str, Any] | None:
    found = inputs.get(step_id("stability", model))
    if found is None:
        return None
    clusters = found["cluster_agreement"].groupby("layer", sort=False)["ari"].mean()
    return {
        "mean_cluster_ari": {k: float(v) for k, v in clusters.items()},
        "mean_path_ari": float(found["path_agreement"]["path_ari"].mean()),
        "dominant_path_jaccard": {
            int(k): float(v)
            for k, v in found["dominant_path_agreement"].groupby("class")["jaccard"].mean().items()
        },
        "same_divergence_layer": bool(found["divergence_agreement"]["same_divergence_layer"].all()),
        "seeds": sorted({int(s) for s in found["divergence_by_seed"]["seed"]}),
    }


def report_stage(
    upstream: Mapping[str, Any],
    *,
    models: list[str],
    trained_classes: list[int],
    unseen_classes: list[int],
    progress: Progress,
) -> dict[str, Any]:
    """One report over all models: the three answers with their figures (JSON and Markdown).
    ``upstream`` holds each model's steps by step id (``novelty/mlp``)."""
    inputs = upstream
    first = inputs[step_id("train", models[0])]["model"]
    report: dict[str, Any] = {
        "trained_classes": trained_classes,
        "unseen_classes": unseen_classes,
        "class_names": first.get("class_names", {}),
        "models": {},
    }
    for model in models:
        history = inputs[step_id("train", model)]["history"]
        last = history[history.epoch == history.epoch.max()].set_index("split")["accuracy"]
        report["models"][model] = {
            "accuracy": {k: float(v) for k, v in last.items()},
            "trained_here": bool(inputs[step_id("train", model)]["model"].get("trained", True)),
            "question_1": _question_1(inputs, model),
            "question_2": _question_2(inputs, model, trained_classes),
            "question_3": _question_3(inputs, model, trained_classes, unseen_classes),
            "novelty_pooled": _pooled_novelty(inputs, model) if len(unseen_classes) > 1 else None,
            "stability": _stability(inputs, model),
            "during_training": during_training(
                inputs[step_id("dynamics", model)], trained_classes, unseen_classes
            )
            if step_id("dynamics", model) in inputs
            else None,
            "clusters": _records(inputs[step_id("clusters", model)]["cluster_summary"]),
        }
    return {"report": report, "report.md": render_markdown(report).encode()}


def _share(shares: dict, key: Any) -> str:
    return f"{100 * shares.get(key, 0.0):.0f} %"


def _trail(trail: list[dict[str, Any]], name: Any) -> str:
    parts = []
    for t in trail:
        where = (
            "outside trained clusters"
            if t["mostly_in"] == "outlier"
            else f"mostly in {name(t['mostly_in'])}'s clusters"
        )
        parts.append(f"`{t['layer']}` {where} ({100 * t['share']:.0f} %)")
    return ", ".join(parts)


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: per model, the three questions answered in sentences and tables."""
    trained = report["trained_classes"]
    names = report.get("class_names", {})

    def name(c: Any) -> str:
        return names.get(str(c), str(c))

    listed = ", ".join(map(name, trained))
    unseen = ", ".join(map(name, report["unseen_classes"])) or "none"
    lines = [f"# pathways report — trained on {listed}; unseen {unseen}", ""]
    for model, r in report["models"].items():
        acc = r["accuracy"]
        how = (
            "" if r.get("trained_here", True) else " (loaded from its checkpoint, not trained here)"
        )
        lines += [
            f"## {model}",
            "",
            f"Accuracy{how}: train {acc.get('train', float('nan')):.3f}, test {acc.get('test', float('nan')):.3f}.",
            "",
        ]
        lines += [
            "### 1. From which layer does the network treat the trained classes differently?",
            "",
        ]
        for q in r["question_1"]:
            lines += _markdown_question_1(q, name)
        lines += ["### 2. Are the signatures of the trained classes different?", ""]
        for q in r["question_2"]:
            lines += _markdown_question_2(q, name)
        lines += ["### 3. What does an unseen class look like, and how unusual is it?", ""]
        for q in r["question_3"]:
            lines += _markdown_question_3(q, trained, name)
        if not r["question_3"]:
            lines += ["- This experiment has no unseen classes (`unseen_classes = []`).", ""]
        if r.get("novelty_pooled"):
            lines += ["- **All unseen classes pooled**:", ""]
            lines += _markdown_novelty(r["novelty_pooled"], "unseen samples of every unseen class")
        if r.get("during_training"):
            lines += markdown_during_training(r["during_training"], name)
        if r["stability"]:
            lines += _markdown_stability(r["stability"], name)
        elif not r.get("trained_here", True):
            lines += [
                "### Stability across training seeds",
                "",
                "- Not measured: this model comes from a checkpoint, so it cannot be re-trained "
                "at other seeds.",
                "",
            ]
    return "\n".join(lines)


def _markdown_question_1(q: dict[str, Any], name: Any) -> list[str]:
    """One trained pair: its divergence layer, and the divergence curve as a table."""
    lines = []
    pair = f"{name(q['class_a'])} vs {name(q['class_b'])}"
    if q["divergence_layer"] is None:
        lines.append(f"- **{pair}**: no layer meets the rule ({q['rule']}).")
    else:
        lines.append(
            f"- **{pair}: from `{q['divergence_layer']}`** — linear-probe accuracy {q['probe_accuracy']:.3f} "
            f"(best layer {q['best_probe_accuracy']:.3f}) and cluster purity {q['cluster_purity']:.3f} ({q['rule']})."
        )
    if q.get("layer_by_seed"):
        seeds = ", ".join(
            f"seed {s}: `{layer}`" if layer else f"seed {s}: no layer"
            for s, layer in q["layer_by_seed"].items()
        )
        lines.append(f"  Across training seeds: {seeds}.")
    lines += [
        "",
        "| layer | probe accuracy | signature distance | cluster purity | NMI | CKA with input | CKA with logits |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in q["curve"]:
        purity = "—" if c["cluster_purity"] is None else f"{c['cluster_purity']:.3f}"
        nmi = "—" if c["nmi"] is None else f"{c['nmi']:.3f}"
        lines.append(
            f"| {c['layer']} | {c['probe_accuracy']:.3f} | {c['signature_distance']:.2f} | {purity} | {nmi} | {c['cka_input']:.2f} | {c['cka_logits']:.2f} |"
        )
    lines.append("")
    return lines


def _markdown_question_2(q: dict[str, Any], name: Any) -> list[str]:
    """One trained pair: how many units differ per layer, and the strongest ones."""
    pair = f"{name(q['class_b'])} vs {name(q['class_a'])}"
    layers = q["layers"]
    most = max(layers, key=lambda x: x["signature_distance"])
    shares = [x["share_significant"] for x in layers]
    verdict = "yes" if any(x["n_significant"] for x in layers) else "no"
    lines = [
        f"- **{pair}: {verdict}** — {100 * min(shares):.0f}–{100 * max(shares):.0f} % of the units of a layer differ "
        f"(Mann–Whitney, Benjamini–Hochberg FDR 5 %); the largest gap is at `{most['layer']}` "
        f"(signature distance {most['signature_distance']:.2f}, RMS Cohen's d)."
    ]
    lines += [
        "",
        "| layer | units differing | share | median abs(d) of those | max abs(d) | strongest units |",
        "|---|---|---|---|---|---|",
    ]
    for x in layers:
        lines.append(
            f"| {x['layer']} | {x['n_significant']} / {x['n_units']} | {100 * x['share_significant']:.0f} % | "
            f"{x['median_abs_d_significant']:.2f} | {x['max_abs_d']:.2f} | {x['top_units']} |"
        )
    units = ", ".join(
        f"`{u['layer']}:{u['unit']}` (d = {u['cohen_d']:+.1f}, AUROC {u['auroc']:.2f})"
        for u in q["strongest_units"][:5]
    )
    lines += [
        "",
        f"  Strongest single units: {units}. (d > 0: higher for {name(q['class_a'])}.)",
        "",
    ]
    return lines


def _markdown_question_3(q: dict[str, Any], trained: list[int], name: Any) -> list[str]:
    """One unseen class: what it is called, where it goes layer by layer, its paths, and how
    unusual every novelty score finds it."""
    predicted = ", ".join(f"{_share(q['predicted_as'], c)} as {name(c)}" for c in trained)
    lines = [
        f"- **{name(q['class'])}** ({q['n']} samples): the network calls them {predicted} (mean confidence {q['mean_confidence']:.2f})."
    ]
    lines += ["", "| layer | closest signature | in clusters of | outlier |", "|---|---|---|---|"]
    for x in q["by_layer"]:
        sig = ", ".join(f"{name(c)}: {_share(x['closest_signature'], c)}" for c in trained)
        clu = ", ".join(f"{name(c)}: {_share(x['cluster_of'], c)}" for c in trained)
        lines.append(f"| {x['layer']} | {sig} | {clu} | {_share(x['cluster_of'], 'outlier')} |")
    lines += ["", f"  Where it goes: {_trail(q['cluster_trail'], name)}."]
    if q["merges"]:
        m, left = q["merges"], q["leaves"]
        leave = (
            f"; it leaves them at `{left['layer']}`" if left else "; it stays there to the output"
        )
        lines.append(
            f"  It merges with {name(m['trained_class'])}'s clusters at `{m['layer']}` ({100 * m['share']:.0f} %){leave}."
        )
    else:
        lines.append("  At no layer do most of its samples sit in one trained class's clusters.")
    paths = "; ".join(f"`{p['path']}` ({100 * p['share']:.0f} %)" for p in q["dominant_paths"])
    own = "; ".join(f"{name(c)}: `{p}`" for c, p in q["trained_dominant_paths"].items())
    lines += ["", f"  Its dominant paths: {paths}. Trained classes' dominant paths: {own}."]
    if q.get("new_path_share"):
        rare = q["new_path_share"]
        lines.append(
            f"  {100 * rare['unseen']:.0f} % of its test samples took a path no train sample of "
            f"the trained classes took (trained classes' test samples: {100 * rare['trained']:.0f} %)."
        )
    lines.append("")
    return lines + _markdown_novelty(q["novelty"])


def _with_interval(m: dict[str, Any], value: str, low: str, high: str) -> str:
    """``0.978 [0.962, 0.991]`` (the value alone when no interval was computed)."""
    if m.get(low) is None or m.get(high) is None:
        return f"{m[value]:.3f}"
    return f"{m[value]:.3f} [{m[low]:.3f}, {m[high]:.3f}]"


def _difference(m: dict[str, Any]) -> str:
    if m.get("auroc_difference") is None:
        return "—"
    return (
        f"{m['auroc_difference']:+.3f} [{m['auroc_difference_low']:+.3f}, "
        f"{m['auroc_difference_high']:+.3f}]"
    )


def _markdown_novelty(novelty: list[dict[str, Any]], what: str = "unseen") -> list[str]:
    ours = next(m for m in novelty if m["kind"] == "ours")
    best = max((m for m in novelty if m["kind"] == "baseline"), key=lambda m: m["auroc"])
    sure = (
        " (95 % bootstrap intervals in brackets; the last column is our AUROC minus the method's)"
        if ours.get("auroc_low") is not None
        else ""
    )
    lines = [
        f"  How unusual: our novelty score (`{ours['method']}`) separates {what} from trained test "
        f"samples with AUROC **{_with_interval(ours, 'auroc', 'auroc_low', 'auroc_high')}** "
        f"(FPR at 95 % TPR {_with_interval(ours, 'fpr_at_95_tpr', 'fpr_low', 'fpr_high')}); "
        f"best baseline `{best['method']}` {_with_interval(best, 'auroc', 'auroc_low', 'auroc_high')}{sure}."
    ]
    lines += [
        "",
        "| method | kind | AUROC | FPR at 95 % TPR | ours − it (AUROC) | note |",
        "|---|---|---|---|---|---|",
    ]
    for m in novelty:
        lines.append(
            f"| {m['method']} | {m['kind']} | {_with_interval(m, 'auroc', 'auroc_low', 'auroc_high')} | "
            f"{_with_interval(m, 'fpr_at_95_tpr', 'fpr_low', 'fpr_high')} | {_difference(m)} | {m['note'] or ''} |"
        )
    lines.append("")
    return lines


def _markdown_stability(s: dict[str, Any], name: Any) -> list[str]:
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
