"""The report of a real small run: it fits an 80-column terminal with every novelty method
named whole and distinct, its words say what the figures say (mostly only at ≥ 50 %, one pair
order, a direction-free AUROC, the dead units counted and named), and `pathways explore` given
a file says so."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pathways.analysis.report_markdown import render_markdown
from pathways.analysis.report_terminal import render_terminal, short_names
from pathways.analysis.report_text import trail_sentence
from pathways.engine.artifacts import Artifact
from pathways.engine.progress import Silent
from pathways.stages.report import report_stage


def _cli(*args: str, columns: str | None = "80") -> subprocess.CompletedProcess:
    """``python -m pathways ARGS`` with its output piped (not a terminal) and COLUMNS set."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "pathways", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _report(store: Path) -> dict:
    return json.loads((store / "small" / "report" / "report.json").read_text())


def _novelty_tables(models: dict) -> list[list[str]]:
    """Every novelty table's methods, in order, as the report holds them."""
    return [
        [m["method"] for m in table]
        for r in models.values()
        for table in [*(q["novelty"] for q in r["question_3"]), r.get("novelty_pooled") or []]
        if table
    ]


def _method_cells(text: str) -> list[list[str]]:
    """The method column of every novelty table in a rendered report (footnote marks off)."""
    tables, rows = [], None
    for line in text.splitlines():
        if line.startswith("method "):
            rows = []
        elif rows is not None and line.startswith("─"):
            continue
        elif rows is not None and line.strip() and line[0] not in "¹²³⁴⁵⁶⁷⁸⁹":
            rows.append(re.split(r" {2,}", line.strip())[0].rstrip("⁰¹²³⁴⁵⁶⁷⁸⁹ "))
        elif rows is not None:
            tables.append(rows)
            rows = None
    return tables


@pytest.mark.parametrize("columns", ["80", None])
def test_the_report_fits_80_columns_with_every_method_named_whole(small_store: Path, columns):
    """Piped (not a terminal), at COLUMNS=80 or with COLUMNS unset: no line over 80
    characters, nothing cut short with an ellipsis, each novelty row's name distinct."""
    result = _cli("report", "small", "--store", str(small_store), columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout
    expected = _novelty_tables(_report(small_store)["models"])
    cells = _method_cells(result.stdout)
    assert len(cells) == len(expected) == 2  # one unseen class, two models
    for shown, methods in zip(cells, expected, strict=True):
        assert len(shown) == len(methods) and len(set(shown)) == len(shown), shown
        assert shown == [short_names(methods)[m] for m in methods]
    assert {"maha fc1", "maha fc2", "sig knn path", "rel maha"} <= set(cells[0])
    assert "sig = signature, maha = mahalanobis" in result.stdout


def test_short_names_stay_distinct_when_two_would_collide():
    names = short_names(["mahalanobis:sum", "mahalanobis_sum", "mahalanobis:fc1", "msp"])
    assert names == {
        "mahalanobis:sum": "mahalanobis:sum",
        "mahalanobis_sum": "mahalanobis_sum",
        "mahalanobis:fc1": "maha fc1",
        "msp": "msp",
    }


def test_a_wide_terminal_shows_every_column_and_the_full_names(small_store: Path):
    text = render_terminal(_report(small_store), 200)
    assert "mahalanobis:fc1" in text and "relative_mahalanobis" in text
    header = next(line for line in text.splitlines() if line.startswith("method "))
    assert "kind" in header and "note" in header
    assert max(len(line) for line in text.splitlines()) <= 200


def test_the_stored_markdown_is_what_the_json_renders_to(small_store: Path):
    """report.md (rendered from the stage's dict) equals the Markdown of report.json read
    back, whose class keys are strings: the terminal reads the same figures."""
    folder = small_store / "small" / "report"
    assert render_markdown(_report(small_store)) == (folder / "report.md").read_text()


def test_mostly_only_for_a_majority():
    """The default run's trail: 80 % outliers, then 42 % and 57 % in 1's clusters, 37 % in 7's."""
    trail = [
        {"layer": "fc1", "most_in": "outlier", "share": 0.804, "tied_with": []},
        {"layer": "fc2", "most_in": 1, "share": 0.424, "tied_with": []},
        {"layer": "fc3", "most_in": 1, "share": 0.566, "tied_with": []},
        {"layer": "logit", "most_in": 7, "share": 0.374, "tied_with": []},
        {"layer": "out", "most_in": 1, "share": 0.35, "tied_with": [7]},
        {"layer": "conv1", "most_in": "outlier", "share": 0.998, "tied_with": []},
        {"layer": "conv2", "most_in": "outlier", "share": 1.0, "tied_with": []},
    ]
    assert trail_sentence(trail, str) == (
        "`fc1` mostly outside trained clusters (80 %), `fc2` most often in 1's clusters (42 %), "
        "`fc3` mostly in 1's clusters (57 %), `logit` most often in 7's clusters (37 %), "
        "`out` split evenly in 1's clusters and in 7's clusters (35 % each), "
        "`conv1` mostly outside trained clusters (99.8 %), "
        "`conv2` all outside trained clusters (100 %)"
    )


def test_the_real_trail_says_mostly_only_at_half_or_more(small_store: Path):
    report = _report(small_store)
    markdown = (small_store / "small" / "report" / "report.md").read_text()
    for r in report["models"].values():
        for q in r["question_3"]:
            for t in q["cluster_trail"]:
                largest = max(v for v in _cluster_shares(q, t["layer"]).values())
                assert t["share"] == pytest.approx(largest)
                how = "mostly" if t["share"] >= 0.5 else "most often"
                if t["share"] < 1 and not t["tied_with"]:
                    assert f"`{t['layer']}` {how} " in markdown


def _cluster_shares(q: dict, layer: str) -> dict:
    return next(x["cluster_of"] for x in q["by_layer"] if x["layer"] == layer)


def _upstream(store: Path) -> dict[str, Artifact]:
    """Every step of the small run by step id, as the runner hands them to the report."""
    run = store / "small"
    return {
        f"{stage.name}/{model.name}": Artifact(model)
        for stage in run.iterdir()
        if stage.is_dir()
        for model in stage.iterdir()
        if (model / "manifest.json").is_file()
    }


def test_pairs_follow_trained_classes_and_d_follows_the_pair(small_store: Path):
    """The same run reported with trained_classes [7, 1]: every pair reads "7 vs 1", each
    unit's d and AUROC turn round, the direction-free AUROC does not, and no unit that tells
    the classes apart perfectly reads "AUROC 0.00"."""
    as_run = _report(small_store)
    turned = report_stage(
        _upstream(small_store),
        models=list(as_run["models"]),
        trained_classes=[7, 1],
        unseen_classes=[3],
        progress=Silent(),
    )
    markdown = turned["report.md"].decode()
    assert "7 vs 1" in markdown and "1 vs 7" not in markdown
    assert "(d > 0: higher for 7;" in markdown and "AUROC 0.0" not in markdown
    for model, r in turned["report"]["models"].items():
        q1, q2 = r["question_1"][0], r["question_2"][0]
        assert (q1["class_a"], q1["class_b"]) == (q2["class_a"], q2["class_b"]) == (7, 1)
        before = as_run["models"][model]["question_2"][0]["strongest_units"]
        for u, v in zip(q2["strongest_units"], before, strict=True):
            assert u["cohen_d"] == pytest.approx(-v["cohen_d"])
            assert u["auroc"] == pytest.approx(1 - v["auroc"])
            assert u["separation"] == pytest.approx(v["separation"])
            assert u["separation"] == max(u["auroc"], 1 - u["auroc"]) >= 0.5
            assert u["higher_for"] == v["higher_for"] == (1 if v["cohen_d"] > 0 else 7)
            assert (u["mean_a"], u["mean_b"]) == (v["mean_b"], v["mean_a"])
        assert r["question_2"][0]["layers"] == as_run["models"][model]["question_2"][0]["layers"]


def test_dead_units_are_counted_and_named(small_store: Path):
    """Each layer's dead units in question 2 are those the clusters step found constant."""
    report = _report(small_store)
    markdown = (small_store / "small" / "report" / "report.md").read_text()
    seen_dead = 0
    for model, r in report["models"].items():
        groups = pd.read_parquet(small_store / "small" / "clusters" / model / "unit_groups.parquet")
        for x in r["question_2"][0]["layers"]:
            units = groups[groups["layer"] == x["layer"]]
            dead = units.loc[units["dead"], "unit"].tolist()
            assert x["dead_units"] == dead and x["n_dead"] == len(dead)
            assert x["n_significant"] <= x["n_units"] - x["n_dead"]  # a dead unit never differs
            if dead:
                seen_dead += 1
                named = f"`{x['layer']}`: {len(dead)} of {x['n_units']} ({', '.join(dead[:24])}"
                assert named in markdown
    assert seen_dead, "the small run has dead units (ReLU layers of a briefly trained net)"
    assert "| dead units |" in markdown


def test_explore_given_a_file_says_it_is_a_file(tmp_path: Path):
    parquet = tmp_path / "activations.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(parquet)
    result = _cli("explore", str(parquet))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert "is a file, not a store folder" in result.stderr and "data/store" in result.stderr


def test_each_answer_is_followed_by_its_check_by_intervention(small_store: Path):
    """Under each question the report states what the interventions step measured, as that
    step's summaries say it: the causal layer and the probe layer, how many (class, layer)
    cases the signature beats random units in, and each unseen class's move to each route."""
    report = _report(small_store)
    markdown = (small_store / "small" / "report" / "report.md").read_text()
    for model, r in report["models"].items():
        folder = small_store / "small" / "interventions" / model
        patching = pd.read_parquet(folder / "patching_summary.parquet")
        ablation = pd.read_parquet(folder / "ablation_summary.parquet")
        routes = pd.read_parquet(folder / "route_summary.parquet")
        checks = r["interventions"]
        causal = patching["causal_layer"].iloc[0]
        assert checks["patching"][0]["causal_layer"] == causal
        assert checks["patching"][0]["probe_layer"] == r["question_1"][0]["divergence_layer"]
        cases = f"**{int(ablation['beats_random'].sum())} of {len(ablation)}** (class, layer)"
        assert cases in markdown
        moves = routes[routes["group"] == "unseen"]
        assert len(checks["routes"]["3"]) == moves["target"].nunique()
    section_1 = markdown.split("### 2.")[0]
    assert "**Checked by patching**" in section_1
    assert markdown.count("**Checked by ablation**") == len(report["models"])
    assert "**Checked by moving it onto 1's route**" in markdown


def test_the_report_says_when_the_budget_cut_the_samples_checked(small_store: Path):
    """The ablation line names the samples per class the step really ran on, and says the
    budget cut them when it did (the small run is within its budget: the line says nothing)."""
    from pathways.analysis.interventions_report import ablation_lines, interventions_checks
    from pathways.engine.artifacts import Artifact

    folder = small_store / "small" / "interventions" / "mlp"
    outputs = dict(Artifact(folder))
    checks = interventions_checks(outputs, [1, 7], [3])
    run = outputs["settings"]["samples_per_class_run"]
    line = ablation_lines(checks, [1, 7], str)[0]
    assert f"on up to {run} test samples per class;" in line and "asked" not in line
    outputs["settings"] = outputs["settings"] | {"samples_per_class_run": 30}
    cut = ablation_lines(interventions_checks(outputs, [1, 7], [3]), [1, 7], str)[0]
    asked = outputs["settings"]["samples_per_class"]
    assert f"on up to 30 test samples per class, not the {asked} asked: interventions.budget" in cut
