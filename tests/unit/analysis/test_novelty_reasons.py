"""A reason per sample: the layer, term and units behind the default score, on planted data."""

from __future__ import annotations

import numpy as np
import pytest

from pathways.analysis.novelty import (
    NEIGHBOUR_TERM,
    PATH_TERM,
    SIGNATURE_TERM,
    NoveltyInputs,
    signature_knn_path_scores,
)
from pathways.analysis.novelty_reasons import reason_text, sample_reasons, unit_zscores


def planted(seed: int = 0):
    """Two trained classes at two layers; sample 0 (a 7) has unit 5 of fc2 pushed 12 σ out,
    sample 1 (a 1) is ordinary in every layer but takes a path no fitted sample takes."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([1, 7], 300)
    fit = np.tile(np.r_[np.ones(250, bool), np.zeros(50, bool)], 2)
    fit[[0, 1]] = False
    hidden = {}
    for name, dims in (("fc1", 12), ("fc2", 8)):
        centres = {1: rng.normal(0, 3, dims), 7: rng.normal(0, 3, dims)}
        hidden[name] = np.stack([centres[c] for c in labels]) + rng.normal(0, 1, (600, dims))
    labels[0] = 7
    hidden["fc1"][0] = hidden["fc1"][labels == 7][5]  # an ordinary 7 at fc1
    hidden["fc2"][0] = hidden["fc2"][labels == 7].mean(axis=0)
    hidden["fc2"][0, 5] += 12.0
    paths = np.where(labels == 1, "0>0", "1>1")
    paths[1] = "0>9"
    inputs = NoveltyInputs(
        hidden, np.zeros((600, 2)), np.full((600, 2), 0.5), labels, fit, paths, knn_k=10
    )
    units = {name: [f"{i:02d}" for i in range(v.shape[1])] for name, v in hidden.items()}
    return inputs, units


def test_the_reason_names_the_planted_layer_and_unit():
    inputs, units = planted()
    reasons = sample_reasons(inputs, np.arange(600), units)
    row = reasons.iloc[0]
    assert row["layer"] == "fc2" and row["term"] in (SIGNATURE_TERM, NEIGHBOUR_TERM)
    assert row["unit_1"] == "05" and row["z_1"] > 8 and row["closest_class"] == 7
    assert abs(row["z_2"]) < 4  # only the planted unit is far out
    path_row = reasons.iloc[1]
    assert path_row["term"] == PATH_TERM and path_row["closest_class"] == 1
    # the statistic is the default score, and each reason's part is its largest
    np.testing.assert_allclose(
        reasons["statistic"], signature_knn_path_scores(inputs)["signature_knn_path"]
    )
    assert (reasons["share"] > 0).all() and (reasons["share"] <= 1).all()
    assert reasons["contribution"].le(reasons["statistic"] + 1e-9).all()
    assert "`fc2`" in reason_text(row) and "fc2:05 +" in reason_text(row)
    assert "from seven" in reason_text(row, lambda c: {1: "one", 7: "seven"}[c])


def test_unit_zscores_against_a_class():
    members = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 4.0]])  # means 1, 1, 3; stds 1, 0, 1
    z = unit_zscores(np.array([[3.0, 1.002, 3.0]]), members)
    np.testing.assert_allclose(z, [[2.0, 2.0, 0.0]])


@pytest.mark.parametrize("top", [1, 3])
def test_top_units_are_ordered_by_absolute_z(top):
    inputs, units = planted(seed=2)
    reasons = sample_reasons(inputs, np.arange(600), units, top=top)
    z = reasons[[f"z_{i}" for i in range(1, top + 1)]].abs().to_numpy()
    assert (np.diff(z, axis=1) <= 1e-12).all()
    assert not any(f"z_{top + 1}" == c for c in reasons.columns)


def test_a_run_without_calibration_samples_says_it_has_no_flags():
    from pathways.analysis.novelty_report import decision_lines

    screen = {"calibration": 0, "screened": 3, "novel": 1, "flagged": 0, "alpha": 0.1}
    decisions = {"screen": screen, "by_class": {"3": {"screened": 1, "flagged": 0}}}
    (line, _) = decision_lines(decisions, 3, str)
    assert line.startswith("  No novelty flags") and "samples per class" in line
    assert decision_lines(decisions, 5, str) == []  # not an unseen class of the run
