"""The three answers with their figures.

:func:`build_report` gathers the analysis outputs of every model into one JSON-able dict (the
run's ``report.json``, written by the ``report`` stage) and written for people as ``report.md``
(:mod:`pathways.analysis.report_markdown`); ``pathways report RUN`` prints it fitted to the
terminal (:mod:`pathways.analysis.report_terminal`). Every class pair is given in the order of
``trained_classes``, and a unit's Cohen's d is positive when the pair's first class is higher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pathways.analysis.dynamics_report import during_training
from pathways.analysis.interventions_report import interventions_checks
from pathways.analysis.novelty_report import novelty_decisions
from pathways.analysis.novelty_scores import ours_method
from pathways.analysis.records import records
from pathways.analysis.strategies_report import strategies_summary

Outputs = Mapping[tuple[str, str], Mapping[str, Any]]
"""Each model's stage outputs by (model, stage): ``outputs["mlp", "novelty"]["metrics"]``."""


def _in_order(a: int, b: int, trained: list[int]) -> bool:
    """Whether the pair (a, b) is in the order of ``trained_classes`` (the report's order)."""
    return trained.index(a) < trained.index(b) if a in trained and b in trained else a < b


def _question_1(inputs: Outputs, model: str, trained: list[int]) -> list[dict[str, Any]]:
    divergence = inputs[model, "divergence"]["divergence"]
    chosen = inputs[model, "divergence"]["divergence_layer"]
    stability = inputs.get((model, "stability"))
    answers = []
    for row in records(chosen):
        pair = divergence[
            (divergence.class_a == row["class_a"]) & (divergence.class_b == row["class_b"])
        ]
        curve = records(
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
        if not _in_order(row["class_a"], row["class_b"], trained):  # every figure is symmetric
            row["class_a"], row["class_b"] = row["class_b"], row["class_a"]
        answers.append({**row, "curve": curve})
    return answers


def _question_2(inputs: Outputs, model: str, trained: list[int]) -> list[dict[str, Any]]:
    """Each trained pair (in the order of ``trained``): per layer how many units differ and how
    many are dead, and the units that differ most."""
    summary = inputs[model, "signatures"]["difference_summary"]
    differences = inputs[model, "signatures"]["differences"]
    dead = _dead_units(inputs[model, "clusters"]["unit_groups"])
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
        in_order = _in_order(int(a), int(b), trained)
        layers = records(group.drop(columns=["class_a", "class_b"]))  # symmetric in a and b
        for row in layers:
            row["n_dead"] = len(dead[row["layer"]]) if row["layer"] in dead else None
            row["dead_units"] = dead.get(row["layer"])
        answers.append(
            {
                "class_a": int(a) if in_order else int(b),
                "class_b": int(b) if in_order else int(a),
                "layers": layers,
                "strongest_units": _strongest_units(strongest, in_order, int(a), int(b)),
            }
        )
    return answers


def _dead_units(unit_groups: pd.DataFrame) -> dict[str, list[str]]:
    """Layer → its dead units (the same activation for every captured sample), as the clusters
    step found them."""
    return {
        str(layer): [str(u) for u in group.loc[group["dead"], "unit"]]
        for layer, group in unit_groups.groupby("layer", sort=False)
    }


def _strongest_units(
    strongest: pd.DataFrame, in_order: bool, a: int, b: int
) -> list[dict[str, Any]]:
    """The units with the largest abs(d), their figures turned to the report's order when the
    stored pair (a, b) is the other way round; ``separation``: the AUROC either way round
    (max(AUROC, 1 − AUROC): 1 when the unit alone tells the two classes apart)."""
    rows = records(strongest[["layer", "unit", "mean_a", "mean_b", "cohen_d", "auroc", "q_value"]])
    for row in rows:
        if not in_order:
            row["mean_a"], row["mean_b"] = row["mean_b"], row["mean_a"]
            row["cohen_d"], row["auroc"] = -row["cohen_d"], 1.0 - row["auroc"]
        first, second = (a, b) if in_order else (b, a)
        row["higher_for"] = first if row["cohen_d"] > 0 else second if row["cohen_d"] < 0 else None
        row["separation"] = max(row["auroc"], 1.0 - row["auroc"])
    return rows


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
    return records(table)


def _pooled_novelty(inputs: Outputs, model: str) -> list[dict[str, Any]]:
    novelty = inputs[model, "novelty"]
    differences = novelty["differences"]
    if not differences.empty:
        differences = differences[differences["unseen_class"].isna()]
    return _novelty_rows(novelty["metrics"], differences)


def _question_3(
    inputs: Outputs, model: str, trained: list[int], unseen: list[int]
) -> list[dict[str, Any]]:
    flow = inputs[model, "paths"]["unseen_flow"]
    affinity = inputs[model, "novelty"]["signature_affinity"]
    distribution = inputs[model, "paths"]["distribution"]
    metrics = inputs[model, "novelty"]["metrics"]
    by_class = inputs[model, "novelty"]["metrics_by_class"]
    differences = inputs[model, "novelty"]["differences"]
    ours = ours_method(metrics)  # our score's column
    scores = inputs[model, "novelty"]["scores"]
    predictions = inputs[model, "capture"]["activations"][
        ["label", "predicted_class", "confidence"]
    ]
    answers = []
    for u in unseen:
        by_layer = _by_layer(affinity, flow, u)
        merge = _merge_and_leave(by_layer)
        members = predictions[predictions.label == u]
        paths = distribution[distribution["class"] == u].head(3)
        trained_paths = distribution[
            distribution["class"].isin(trained) & (distribution["rank"] == 1)
        ]
        mine = by_class[by_class["unseen_class"] == u]
        new_path = _new_path_shares(inputs[model, "paths"]["sample_paths"], u)
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
                "dominant_paths": records(paths[["path", "n", "share"]]),
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


def _by_layer(affinity: pd.DataFrame, flow: pd.DataFrame, u: int) -> list[dict[str, Any]]:
    """Per layer: the shares of the unseen class ``u`` closest to each trained class's
    signature, and in each trained class's clusters (or ``outlier``)."""
    by_layer = []
    for layer, group in affinity[affinity.unseen_class == u].groupby("layer", sort=False):
        clusters = flow[(flow.unseen_class == u) & (flow.layer == layer)]
        by_layer.append(
            {
                "layer": layer,
                "closest_signature": {
                    int(c): float(s) for c, s in zip(group.trained_class, group.share, strict=True)
                },
                "cluster_of": {
                    ("outlier" if c < 0 else int(c)): float(s)
                    for c, s in zip(clusters.trained_class, clusters.share, strict=True)
                },
            }
        )
    return by_layer


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
    """Per layer, where most of the unseen class's samples sit (``most_in``: a trained class or
    ``outlier``, with its ``share``; ``tied_with``: any other with the same share); where a
    majority (≥ 50 %) sits in one trained class's clusters: the first such layer (it *merges*),
    and the first later layer where that stops (it *leaves*)."""
    trail, merged, left = [], None, None
    for x in by_layer:
        owner, share = max(x["cluster_of"].items(), key=lambda kv: kv[1])
        tied = [k for k, v in x["cluster_of"].items() if v == share and k != owner]
        trail.append({"layer": x["layer"], "most_in": owner, "share": share, "tied_with": tied})
        majority = owner != "outlier" and share >= 0.5
        if merged is None and majority:
            merged = {"layer": x["layer"], "trained_class": owner, "share": share}
        elif (
            merged is not None
            and left is None
            and not (majority and owner == merged["trained_class"])
        ):
            left = {"layer": x["layer"], "most_in": owner, "share": share}
    return {"cluster_trail": trail, "merges": merged, "leaves": left}


def _stability(inputs: Outputs, model: str) -> dict[str, Any] | None:
    found = inputs.get((model, "stability"))
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


def build_report(
    inputs: Outputs,
    models: list[str],
    trained_classes: list[int],
    unseen_classes: list[int],
) -> dict[str, Any]:
    """One report over all models: the three answers with their figures.

    ``inputs`` holds each model's stage outputs by (model, stage): ``inputs["mlp", "novelty"]``
    (``stability``, ``dynamics`` and ``interventions`` may be absent)."""
    first = inputs[models[0], "train"]["model"]
    report: dict[str, Any] = {
        "trained_classes": trained_classes,
        "unseen_classes": unseen_classes,
        "class_names": first.get("class_names", {}),
        "models": {},
    }
    for model in models:
        history = inputs[model, "train"]["history"]
        last = history[history.epoch == history.epoch.max()].set_index("split")["accuracy"]
        report["models"][model] = {
            "accuracy": {k: float(v) for k, v in last.items()},
            "trained_here": bool(inputs[model, "train"]["model"].get("trained", True)),
            "question_1": _question_1(inputs, model, trained_classes),
            "question_2": _question_2(inputs, model, trained_classes),
            "question_3": _question_3(inputs, model, trained_classes, unseen_classes),
            "novelty_pooled": _pooled_novelty(inputs, model) if len(unseen_classes) > 1 else None,
            "stability": _stability(inputs, model),
            "during_training": during_training(
                inputs[model, "dynamics"], trained_classes, unseen_classes
            )
            if (model, "dynamics") in inputs
            else None,
            "clusters": records(inputs[model, "clusters"]["cluster_summary"]),
            "interventions": interventions_checks(
                inputs.get((model, "interventions")), trained_classes, unseen_classes
            ),
            "strategies": strategies_summary(inputs.get((model, "strategies"))),
            "novelty_decisions": novelty_decisions(
                inputs[model, "novelty"],
                ours_method(inputs[model, "novelty"]["metrics"]),
                unseen_classes,
            )
            if unseen_classes
            else None,
        }
    return report
