"""The Strategies view and the strategies step's outputs on the real small run."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

from pathways.app.frame import Frame


def _step(frame: Frame, model: str) -> str:
    return str(frame.reader.store / "small" / "strategies" / model)


def test_the_stored_strategies_are_consistent(frame: Frame) -> None:
    for model in ("mlp", "lenet5"):
        folder = _step(frame, model)
        members = pd.read_parquet(f"{folder}/members.parquet")
        table = pd.read_parquet(f"{folder}/strategies.parquet")
        classes = pd.read_parquet(f"{folder}/classes.parquet")
        samples = frame.reader.samples("small", model).set_index("sample_id")
        # every member is a train sample of its trained class, each explained once
        assert set(members["class"]) == {1, 7} and members["sample_id"].is_unique
        assert (samples.loc[members["sample_id"], "label"].to_numpy() == members["class"]).all()
        assert (samples.loc[members["sample_id"], "split"] == "train").all()
        # the tables agree: sizes, shares, counts of strategies, the stored paths
        sizes = members.groupby(["class", "strategy"]).size()
        assert (table.set_index(["class", "strategy"])["n"] == sizes).all()
        assert np.allclose(table.groupby("class")["share"].sum(), 1.0)
        assert (classes.set_index("class")["k"] == table.groupby("class").size()).all()
        paths = frame.reader.sample_paths("small", model).set_index("sample_id")["path"]
        assert (paths.loc[members["sample_id"]].to_numpy() == members["path"]).all()
        maps = np.load(f"{folder}/maps.npy")
        means = np.load(f"{folder}/mean_maps.npy")
        assert maps.shape == (len(members), 28, 28) and len(means) == len(table)
        first = table.iloc[0]
        rows = members[(members["class"] == first["class"]) & (members.strategy == first.strategy)]
        assert np.allclose(means[first["index"]], maps[rows["row"]].mean(0), atol=1e-6)


def test_the_view_shows_a_strategy_its_members_and_its_paths(frame: Frame) -> None:
    view = frame.views["strategies"]
    options, cls, message = view.classes("small", "lenet5")
    assert [o["value"] for o in options] == [1, 7] and cls == 1 and message == ""
    strategies, first, summary = view.strategies("small", "lenet5", 7)
    assert first == 0 and summary.startswith("7: ")
    table = pd.read_parquet(f"{_step(frame, 'lenet5')}/strategies.parquet")
    assert len(strategies) == int((table["class"] == 7).sum())
    means, points, members, sankey = view.figures("small", "lenet5", 7, 0)
    assert len(means["data"]) == len(strategies)  # one mean map per strategy
    drawn = sum(len(t["x"]) for t in points["data"])
    stored = pd.read_parquet(f"{_step(frame, 'lenet5')}/members.parquet")
    assert drawn == int((stored["class"] == 7).sum())
    chosen = int(((stored["class"] == 7) & (stored.strategy == 0)).sum())
    assert members[0].children.startswith(f"{chosen} members")
    flows = sankey["data"][0]["link"]
    paths = frame.reader.sample_paths("small", "lenet5")
    layers = sum(c.startswith("cluster_") for c in paths.columns)  # hidden layers and logits
    from_strategy = sum(
        v for v, c in zip(flows["value"], flows["customdata"], strict=True) if c == "strategy 0"
    )
    assert from_strategy == chosen * (layers - 1)  # each member flows once between layers


def test_a_run_without_the_stage_says_what_to_do(frame: Frame, small_store, tmp_path) -> None:
    copy = tmp_path / "store"
    shutil.copytree(small_store, copy)
    shutil.rmtree(copy / "small" / "strategies" / "mlp")
    view = Frame(type(frame.reader)(copy)).views["strategies"]
    options, cls, message = view.classes("small", "mlp")
    assert options == [] and "no strategies/mlp output" in message and "pathways run" in message
