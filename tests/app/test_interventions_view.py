"""The Interventions view and the Signatures view's ablation panel on a real small run: figures
from the stored tables, and the network switched off unit by unit in the explorer's real
worker process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathways.app.frame import Frame
from pathways.app.views.ablation_panel import LIVE
from pathways.app.worker import Worker
from pathways.errors import PathwaysError


def test_the_view_draws_the_stored_curves_patching_and_routes(frame: Frame):
    view = frame.views["interventions"]
    classes, cls, pairs, pair, routes, route = view.options("small", "mlp")
    assert [o["value"] for o in classes] == [1, 7] and cls == 1
    assert [o["value"] for o in pairs] == ["1,7"] and route == 3  # the unseen class first
    text, curves, patching, moves = view.interventions(
        "small", "mlp", "fc1", 7, "accuracy", pair, route
    )
    stored = pd.read_parquet(frame.reader.store / "small/interventions/mlp/ablation.parquet")
    mine = stored[(stored.layer == "fc1") & (stored["class"] == 7)]
    lines = {t["name"]: t for t in curves["data"] if t.get("mode") == "lines+markers"}
    assert set(lines) == {
        "the class's signature units",
        "layer Integrated Gradients units",
        "random units",
    }
    signature = mine[mine.ranking == "signature"].sort_values("k")
    np.testing.assert_allclose(lines["the class's signature units"]["y"], signature["accuracy"])
    assert list(lines["random units"]["x"]) == sorted(mine.loc[mine.ranking == "random", "k"])
    bands = [t for t in curves["data"] if t.get("fill") == "tonexty"]
    assert len(bands) == 3  # one 95 % band per ranking
    assert "units switched off" in curves["layout"]["title"]["text"]
    # patching: one point per hidden layer, the causal/probe layers marked where there are any
    summary = pd.read_parquet(
        frame.reader.store / "small/interventions/mlp/patching_summary.parquet"
    )
    top = next(t for t in patching["data"] if t["name"].startswith("the pair"))
    assert top["x"] == summary["layer"].tolist() == ["fc1", "fc2"]
    np.testing.assert_allclose(top["y"], summary["top_share"], equal_nan=True)
    marked = {s["x0"] for s in patching["layout"].get("shapes", [])}
    marks = [summary.causal_layer.iloc[0], summary.probe_layer.iloc[0]]
    assert marked == {x for x in marks if x in ("fc1", "fc2")}
    notes = " ".join(n["text"] for n in patching["layout"]["annotations"])
    for what, layer in zip(["causal", "probe/purity"], marks, strict=True):
        if not layer:
            assert f"no {what} layer" in notes
        elif layer not in marked:  # not a patched layer (the logits): named in a note
            assert f"{what} layer: {layer}" in notes
    targets = [t["name"] for t in moves["data"] if t["name"].startswith("onto")]
    routes = pd.read_parquet(frame.reader.store / "small/interventions/mlp/route_summary.parquet")
    threes = routes[(routes.group == "unseen") & (routes.label == 3)]
    assert targets == [f"onto class {t}'s route" for t in threes["target"].unique()] != []
    assert "**Which neurons**" in text and "**From which layer**" in text
    assert "unseen class's route" in text and "signature" in text
    margin = view.interventions("small", "mlp", "fc2", 1, "margin", pair, 1)[1]
    assert "logit margin" in margin["layout"]["yaxis"]["title"]["text"]


def test_a_run_without_the_stage_says_what_to_do(frame: Frame, small_store, tmp_path):
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(small_store, copy)
    shutil.rmtree(copy / "small" / "interventions" / "mlp")
    view = Frame(type(frame.reader)(copy)).views["interventions"]
    text, curves, *_ = view.interventions("small", "mlp", "fc1", 1, "accuracy", "1,7", 3)
    assert "no interventions/mlp output" in text and "pathways run" in text
    assert curves["data"] == []


def test_switching_units_off_in_the_worker(frame: Frame):
    """The panel offers the layer's units by selectivity; the worker runs the real network:
    with nothing switched off a sample's call is the one the capture stored; with every unit
    of the last hidden layer set to the trained mean every sample gets the same call."""
    panel = frame.views["signatures"].panel
    options, units, sample = panel.choices("small", "mlp", "fc2", 7)
    assert len(options) >= 5 and units == [o["value"] for o in options[:5]]
    captured = frame.reader.samples("small", "mlp").set_index("sample_id")
    assert captured.loc[sample, "label"] == 7 and captured.loc[sample, "split"] == "test"
    found = panel.worker.call(
        LIVE,
        store=str(frame.reader.store),
        run="small",
        model="mlp",
        layer="fc2",
        units=list(range(16)),
        classes=[1, 7, 3],
        sample_id=sample,
        ablation="mean",
    )
    before = found["sample"]["before"]
    assert before["call"] == captured.loc[sample, "predicted_class"]
    assert abs(before["confidence"] - captured.loc[sample, "confidence"]) < 1e-4
    after = {row["class"]: row["after"] for row in found["classes"]}
    calls = {max(shares, key=shares.get) for shares in after.values()}
    assert len(calls) == 1 and all(max(s.values()) == 1.0 for s in after.values())
    # untouched, the calls are the capture's (the small run has fewer test samples per class
    # than the stage takes: all of them)
    test = captured[captured.split == "test"]
    for row in found["classes"]:
        mine = test[test.label == row["class"]]
        assert row["n"] == len(mine)
        for c in (1, 7):
            assert row["before"][str(c)] == pytest.approx((mine.predicted_class == c).mean())
    shown = panel.ablate(1, "small", "mlp", "fc2", [1, 7, 3], units, "zero", sample)
    text = str(shown)
    assert "5 of 16 units of fc2 set to zero" in text and "accuracy class 1 " in text
    assert f"sample {sample} (class 7): called class " in text
    assert "choose units" in str(panel.ablate(1, "small", "mlp", "fc2", [1], [], "mean", 0))
    bad = panel.ablate(1, "small", "mlp", "fc2", [1], [99], "mean", 0)
    assert "fc2 has units 0 to 15: no unit 99" in str(bad)


def test_a_worker_error_is_a_message_not_a_crash(tmp_path):
    worker = Worker()
    try:
        found = worker.call(
            LIVE, store=str(tmp_path), run="none", model="mlp", layer="fc1", units=[0], classes=[1]
        )
    except PathwaysError as exc:
        assert "has no trained 'mlp'" in str(exc)
    else:
        raise AssertionError(f"no error: {found}")
    finally:
        worker.close()
