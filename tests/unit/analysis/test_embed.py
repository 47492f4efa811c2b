"""The 2-D maps: every method seeded, reproducible and faithful to planted structure; the map
quality measures on maps whose answer is known."""

from __future__ import annotations

import typing

import numpy as np
import pytest
from test_cluster import planted

from pathways.analysis.embed import METHODS, _optional, embed_2d, layers_to_map, map_input
from pathways.analysis.map_quality import map_quality, neighbour_accuracy, neighbour_preservation
from pathways.errors import PathwaysError
from pathways.experiment.config import AnalysisSpec


def test_the_config_offers_exactly_the_methods_there_are():
    choices = typing.get_args(AnalysisSpec.model_fields["embedding_method"].annotation)
    assert set(choices) == set(METHODS)
    assert AnalysisSpec().embedding_method == "umap"


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_method_is_seeded_and_keeps_planted_clusters_apart(method: str):
    values, labels = planted(60, seed=8, dims=12)
    first, again = embed_2d(values, seed=3, method=method), embed_2d(values, seed=3, method=method)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (240, 2) and first.dtype == np.float32
    centres = np.stack([first[labels == k].mean(axis=0) for k in range(4)])
    spread = max(first[labels == k].std(axis=0).max() for k in range(4))
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i in range(4) for j in range(i + 1, 4)]
    assert min(gaps) > 2 * spread
    queries = np.arange(0, 240, 3)
    assert neighbour_accuracy(first, labels, queries) == 1.0


def test_wide_layers_are_mapped_from_their_50_leading_components():
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(300, 120)).astype(np.float32)
    inputs = map_input(wide)
    assert inputs.shape == (300, 50) and inputs.dtype == np.float32
    assert map_input(wide[:, :30]).shape == (300, 30)  # narrow layers stay as they are


def test_too_few_samples_fall_back_to_pca():
    values = np.random.default_rng(1).normal(size=(10, 5)).astype(np.float32)
    xy = embed_2d(values, method="umap")
    assert xy.shape == (10, 2) and np.isfinite(xy).all()


def test_a_missing_optional_package_is_named_with_the_install_command():
    with pytest.raises(PathwaysError, match=r"needs the no_such_pkg package .*pathways\[maps\]"):
        _optional("no_such_pkg", "tsne")


def test_quality_of_a_perfect_and_of_a_random_map():
    rng = np.random.default_rng(2)
    plane = rng.normal(size=(2000, 2))
    plane = ((plane - plane.mean(0)) / plane.std(0)).astype(np.float32)  # as map_quality scales
    queries = np.arange(0, 2000, 4)
    assert neighbour_preservation(plane, plane * 3 + 1, queries) == 1.0  # scaled and shifted
    shuffled = plane[rng.permutation(2000)]
    assert neighbour_preservation(plane, shuffled, queries) < 0.02  # random ≈ 10 / 2000
    perfect = map_quality(plane, plane, checked=500)
    assert perfect["checked"] == 500 and perfect["preservation"] == 1.0
    assert perfect["trustworthiness"] == pytest.approx(1.0)
    assert map_quality(plane, shuffled, checked=500)["trustworthiness"] < 0.6


def test_a_map_that_tears_clusters_keeps_fewer_neighbours_than_one_that_keeps_them():
    values, labels = planted(100, seed=4, dims=10)
    kept = embed_2d(values)
    torn = kept.copy()
    torn[labels == 0] = torn[labels == 0][::-1]  # cluster 0's points swap places
    assert map_quality(values, torn)["preservation"] < map_quality(values, kept)["preservation"]


def test_a_run_whose_map_method_is_not_installed_stops_before_training(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pathways.analysis import embed
    from pathways.cli import main as cli

    monkeypatch.setitem(embed.PACKAGES, "tsne", "no_such_tsne_package")  # as if not installed
    config = tmp_path / "maps.toml"
    config.write_text(
        'name = "maps"\n[[models]]\nname = "mlp"\ntype = "mlp"\n'
        '[analysis]\nembedding_method = "tsne"\n'
    )
    store = tmp_path / "store"
    result = CliRunner().invoke(cli.app, ["run", str(config), "--store", str(store)])
    assert result.exit_code == 2
    assert "needs the no_such_tsne_package package" in result.output
    assert 'pip install "pathways[maps]"' in result.output
    assert not (store / "maps" / "train").exists()  # nothing was trained


@pytest.mark.parametrize(
    ("samples", "setting", "expected"),
    [
        (5_000, "auto", ["a", "b", "c", "d"]),  # 20,000 points: every layer
        (70_000, "auto", ["c", "d"]),  # 140,000 points: the last two
        (200_000, "auto", ["d"]),  # always one
        (70_000, "all", ["a", "b", "c", "d"]),
        (70_000, 3, ["b", "c", "d"]),
        (70_000, 9, ["a", "b", "c", "d"]),
        (70_000, 0, []),
    ],
)
def test_the_layers_a_run_maps(samples, setting, expected):
    assert layers_to_map(["a", "b", "c", "d"], samples, setting) == expected
