"""Several unseen classes: each gets its own novelty figures, with intervals, in the stored
metrics and in the report (trained on 0 and 6, unseen 8 and 9, as a new user tried)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from _cli import experiment_folder, pathways

pytestmark = pytest.mark.slow  # runs whole experiments (see README, Development)

EXPERIMENT = """
name = "two-unseen"
trained_classes = [0, 6]
unseen_classes = [8, 9]
[data]
samples_per_class = 120
[[models]]
name = "mlp"
type = "mlp"
hidden = [64, 32]
[training]
epochs = 4
[analysis]
stability_seeds = 1
bootstrap = 500
[explain]
samples_per_class = 2
rotation_angles = [0, 45]
rotation_samples_per_class = 4
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    folder = experiment_folder(
        tmp_path_factory.mktemp("unseen"), data_dir, {"two.toml": EXPERIMENT}
    )
    pathways("run", "two.toml", cwd=folder)
    return folder


def test_each_unseen_class_has_its_own_correct_figures(run: Path):
    novelty = run / "store" / "two-unseen" / "novelty" / "mlp"
    scores = pd.read_parquet(novelty / "scores.parquet")
    by_class = pd.read_parquet(novelty / "metrics_by_class.parquet")
    report = json.loads(pathways("report", "two-unseen", "--json", cwd=run).stdout)
    answers = {q["class"]: q for q in report["models"]["mlp"]["question_3"]}
    assert set(answers) == {8, 9}
    test = scores[scores["split"] == "test"]
    seen_auroc = {}
    for u in (8, 9):
        part = test[test["seen"] | (test["label"] == u)]
        reported = {m["method"]: m for m in answers[u]["novelty"]}
        for method in (
            "signature_knn_path",
            "signature_knn",
            "signature_path",
            "msp",
            "energy",
            "knn",
            "vim",
        ):
            expected = roc_auc_score(part["label"] == u, part[method])
            stored = by_class[(by_class.unseen_class == u) & (by_class.method == method)]
            assert stored["auroc"].iloc[0] == pytest.approx(expected)
            assert reported[method]["auroc"] == pytest.approx(expected)
            assert reported[method]["auroc_low"] <= expected <= reported[method]["auroc_high"]
        seen_auroc[u] = reported["signature_knn_path"]["auroc"]
        # only the trained classes are listed as trained classes
        assert set(answers[u]["trained_dominant_paths"]) == {"0", "6"}  # JSON keys
        assert reported["msp"]["auroc_difference"] == pytest.approx(
            reported["signature_knn_path"]["auroc"] - reported["msp"]["auroc"]
        )
    assert seen_auroc[8] != seen_auroc[9]
    pooled = {m["method"]: m for m in report["models"]["mlp"]["novelty_pooled"]}
    expected = roc_auc_score(~test["seen"], test["signature_knn_path"])
    assert pooled["signature_knn_path"]["auroc"] == pytest.approx(expected)
    markdown = pathways("report", "two-unseen", cwd=run).stdout
    assert "All unseen classes pooled" in markdown and "bootstrap intervals" in markdown


def test_the_report_says_how_rare_each_unseen_classs_paths_are(run: Path):
    paths = pd.read_parquet(run / "store" / "two-unseen" / "paths" / "mlp" / "sample_paths.parquet")
    report = json.loads(pathways("report", "two-unseen", "--json", cwd=run).stdout)
    answers = {q["class"]: q for q in report["models"]["mlp"]["question_3"]}
    train_paths = set(paths.loc[paths["seen"] & (paths["split"] == "train"), "path"])
    test = paths[paths["split"] == "test"]
    for u in (8, 9):
        mine = test[test["label"] == u]
        expected = (~mine["path"].isin(train_paths)).mean()
        assert answers[u]["new_path_share"]["unseen"] == pytest.approx(expected)
        trained = (~test.loc[test["seen"], "path"].isin(train_paths)).mean()
        assert answers[u]["new_path_share"]["trained"] == pytest.approx(trained)
    markdown = pathways("report", "two-unseen", cwd=run).stdout
    assert "took a path no train sample of the trained classes took" in markdown
