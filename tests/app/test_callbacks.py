"""Callbacks and figure functions on a real small run (no browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathways.analysis.conformal import flag_novel
from pathways.analysis.stats import auroc
from pathways.app import create_app
from pathways.app.figures import decode
from pathways.app.frame import Frame
from pathways.app.reader import StoreReader


def _points(figure: dict) -> int:
    return sum(len(decode(trace["x"])) for trace in figure["data"])


def test_pickers_default_to_trained_and_unseen_classes(frame: Frame):
    models, model, message = frame.models("small")
    assert models == ["mlp", "lenet5"] and model == "mlp" and message == ""
    layers, layer, class_options, classes, message = frame.model_options("small", "mlp")
    assert layers == ["fc1", "fc2", "logit"] and layer == "fc2"
    assert classes == [o["value"] for o in class_options] == [1, 7, 3] and message == ""
    assert [o["label"] for o in class_options] == ["1", "7", "3 (unseen)"]
    sort_options, sort_class = frame.views["signatures"].options("small", "mlp")
    assert sort_options == [1, 7, 3] and sort_class == 1
    methods, method = frame.views["novelty"].options("small", "mlp")
    assert (
        "signature_knn_path" in methods
        and "mahalanobis:best-layer" not in methods
        and method == "signature_knn_path"
    )


def test_embedding_colourings_and_class_filter(frame: Frame):
    by_class = frame.views["embedding"].embedding("small", "mlp", "fc1", [1, 7, 3], "class")
    names = [t["name"] for t in by_class["data"]]
    assert names == ["class 1", "class 3", "class 7"] and _points(by_class) == 180
    assert all(t["type"] == "scattergl" for t in by_class["data"])
    ids = np.concatenate([decode(t["customdata"]) for t in by_class["data"]])
    assert sorted(ids.tolist()) == list(range(180))
    without_3 = frame.views["embedding"].embedding("small", "mlp", "fc1", [1, 7], "class")
    assert _points(without_3) == 120
    seen = frame.views["embedding"].embedding("small", "mlp", "fc1", [1, 7, 3], "seen/unseen")
    assert {t["name"]: len(decode(t["x"])) for t in seen["data"]} == {"trained": 120, "unseen": 60}
    correct = frame.views["embedding"].embedding("small", "mlp", "fc1", [1, 7, 3], "correct/wrong")
    assert {t["name"] for t in correct["data"]} <= {"correct", "wrong", "unseen"}
    clusters = frame.views["embedding"].embedding("small", "mlp", "fc2", [1, 7, 3], "cluster")
    assignments = pd.read_parquet(
        frame.reader.store / "small" / "clusters" / "mlp" / "assignments.parquet"
    )
    fc2 = assignments[assignments.layer == "fc2"]
    # the clustering's outliers are one light-grey trace of their own, "outlier", drawn first
    assert fc2["outlier"].any()
    outliers = clusters["data"][0]
    assert outliers["name"] == "outlier" and outliers["marker"]["color"] == "#c7c7c7"
    assert sorted(decode(outliers["customdata"]).tolist()) == sorted(
        fc2.loc[fc2.outlier, "sample_id"]
    )
    members = fc2[~fc2.outlier].groupby("cluster")["sample_id"].apply(sorted).to_dict()
    drawn = {t["name"]: sorted(decode(t["customdata"]).tolist()) for t in clusters["data"][1:]}
    assert drawn == {f"cluster {k}": v for k, v in members.items()}
    colours = [t["marker"]["color"] for t in clusters["data"]]
    assert len(set(colours)) == len(colours)
    # the title tells the method and how faithful this layer's map is, from map_quality
    quality = pd.read_parquet(
        frame.reader.store / "small" / "embedding" / "mlp" / "map_quality.parquet"
    ).set_index("layer")
    assert list(quality.index) == ["fc1", "fc2", "logit"]
    assert quality["method"].tolist() == ["umap", "umap", "pca"]  # 2 logits: drawn as they are
    assert (quality["checked"] == 180).all() and quality["preservation"].between(0, 1).all()
    kept = quality.loc["fc1", "preservation"]
    assert f"UMAP map (keeps {kept:.0%} of 10 nearest" in by_class["layout"]["title"]["text"]


def test_hover_shows_the_digit_and_selection_lists_samples(frame: Frame):
    shown, bbox, children = frame.views["embedding"].hover(
        {"points": [{"customdata": 5, "bbox": {"x0": 1}}]}, "small", "mlp"
    )
    assert shown and bbox == {"x0": 1}
    image = children.children[0]
    assert image.src.startswith("data:image/png;base64,")
    assert "#5: class " in children.children[1].children
    listing = frame.views["embedding"].selection(
        {"points": [{"customdata": i} for i in (0, 1, 150)]}, "small", "mlp"
    )
    assert listing.children[0].children.startswith("3 samples")
    assert frame.views["embedding"].hover(None, "small", "mlp")[0] is False
    assert frame.views["embedding"].clicked_sample({"points": [{"customdata": 17}]}) == 17


def _dead(store: Path, model: str, layer: str) -> list[str]:
    units = pd.read_parquet(store / "small" / "clusters" / model / "unit_groups.parquet")
    return units.loc[(units.layer == layer) & units.dead, "unit"].tolist()


def test_signature_heatmap_sorted_by_selectivity(frame: Frame):
    heatmap, top, _ = frame.views["signatures"].signatures("small", "mlp", "fc1", [1, 7, 3], 7)
    z = np.asarray(heatmap["data"][0]["z"])
    dead = _dead(frame.reader.store, "mlp", "fc1")
    assert z.shape == (3, 32 - len(dead))
    sig = frame.reader.signatures("small", "mlp")
    best = (
        sig[(sig.layer == "fc1") & (sig["class"] == 7)]
        .sort_values("selectivity", ascending=False)["unit"]
        .iloc[0]
    )
    assert heatmap["data"][0]["x"][0] == best
    assert top["data"][0]["x"][0] == best  # the top units follow the chosen class too
    assert [t["name"] for t in top["data"]] == ["class 1", "class 7", "class 3"]


def test_dead_units_are_named_and_left_out_of_the_signatures(frame: Frame):
    """A unit that never varies (dead) would be a blank band: it is counted, named, and left
    out of the heatmap and the top units; layers without dead units say nothing."""
    view = frame.views["signatures"]
    for model, layer, n_units in (("mlp", "fc2", 16), ("lenet5", "fc1", 84)):
        dead = _dead(frame.reader.store, model, layer)
        assert dead  # the small run has dead units in both networks
        heatmap, top, line = view.signatures("small", model, layer, [1, 7, 3], 1)
        assert line.startswith(f"{len(dead)} of {n_units} units of {layer} never vary (dead")
        assert all(unit in line for unit in dead[:24])
        assert not set(heatmap["data"][0]["x"]) & set(dead)
        assert len(heatmap["data"][0]["x"]) == n_units - len(dead)
        assert not set(top["data"][0]["x"]) & set(dead)
        assert f"({n_units - len(dead)} units" in heatmap["layout"]["title"]["text"]
    assert not _dead(frame.reader.store, "mlp", "logit")
    assert view.signatures("small", "mlp", "logit", [1, 7, 3], 1)[2] == ""


def test_compare_three_classes_and_divergence_curve(frame: Frame):
    differences, curve, summary = frame.views["compare"].compare("small", "mlp", "fc1", [1, 7, 3])
    names = {t["name"].split(" (")[0] for t in differences["data"]}
    assert names == {"1 vs 7", "3 vs 1", "3 vs 7"}
    table = frame.reader.differences("small", "mlp")
    part = table[(table.layer == "fc1") & (table.class_a == 1) & (table.class_b == 7)]
    assert f"1 vs 7 at fc1: {int(part['significant'].sum())} of 32 units differ" in str(summary)
    # dead units are counted (they cannot differ) and the median |d| is over the others
    dead = _dead(frame.reader.store, "mlp", "fc1")
    live = part.loc[~part.unit.isin(dead), "cohen_d"].abs()
    assert (
        f"{len(dead)} of the 32 never vary (dead); median |d| of the {32 - len(dead)} others "
        f"{live.median():.2f}" in str(summary)
    )
    # the scatter leaves them out too, as the Signatures view does, and says so
    plotted = {u for t in differences["data"] for u in t["text"]}
    assert plotted == set(part["unit"]) - set(dead)
    title = differences["layout"]["title"]["text"]
    assert (f"{len(dead)} dead units left out" in title) == bool(dead)
    _, chosen = frame.reader.divergence("small", "mlp")
    layer = chosen["divergence_layer"].iloc[0]
    marked = curve["layout"]["annotations"]
    assert (layer is None and not marked) or marked[0]["text"] == f"divergence layer: {layer}"


def test_paths_sankey_carries_every_transition(frame: Frame):
    sankey, table = frame.views["paths"].paths("small", "mlp", [1, 7, 3])
    transitions = frame.reader.transitions("small", "mlp")
    assert sum(sankey["data"][0]["link"]["value"]) == transitions["n"].sum() == 180 * 2
    only_3, _ = frame.views["paths"].paths("small", "mlp", [3])
    assert sum(only_3["data"][0]["link"]["value"]) == 60 * 2
    header, *rows = table.children
    assert [cell.children for cell in header.children] == [
        "class",
        "rank",
        "path (cluster at fc1 > fc2 > logit)",
        "samples",
        "share",
    ]
    # cells are padded and ruled, so that the columns read as columns
    for cell in header.children + rows[0].children:
        assert cell.style["padding"].split()[1] == "14px" and "solid" in cell.style["borderBottom"]
    assert table.style["borderCollapse"] == "collapse"


def test_sample_view(frame: Frame):
    samples = frame.reader.samples("small", "mlp")
    unseen = int(samples.loc[~samples.seen, "sample_id"].iloc[0])
    src, info, figure, neighbours = frame.views["sample"].sample(
        "small", "mlp", "fc2", unseen, [1, 7, 3]
    )
    assert src.startswith("data:image/png")
    assert "unseen class" in str(info) and "path " in str(info)
    reason = frame.reader.novelty_reasons("small", "mlp").set_index("sample_id").loc[unseen]
    scores = frame.reader.novelty("small", "mlp")[0].set_index("sample_id").loc[unseen]
    why = str(info.children[-1])
    assert f"at {reason['layer']}, units {reason['layer']}:{reason['unit_1']}" in why
    assert f"p = {scores['pvalue']:.3g}" in str(info.children[-2])
    assert figure["data"][0]["name"] == "this sample" and len(figure["data"]) == 4
    assert "all 16 units" in figure["layout"]["title"]["text"]  # fc2 has fewer than 20
    # at fc1, the 20 of 32 units where the sample is farthest from its own class's signature
    _, _, figure, _ = frame.views["sample"].sample("small", "mlp", "fc1", unseen, [1, 7, 3])
    units, values = frame.reader.layer_values("small", "mlp", "fc1")
    sig = frame.reader.signatures("small", "mlp")
    means = sig[(sig.layer == "fc1") & (sig["class"] == 3)].set_index("unit")["mean"]
    distance = pd.Series(np.abs(values[unseen] - means.loc[units].to_numpy()), index=units)
    farthest = distance.sort_values(ascending=False, kind="stable").index[:20].tolist()
    assert figure["data"][0]["x"] == farthest
    assert all(trace["x"] == farthest for trace in figure["data"])
    assert "the 20 of 32 units" in figure["layout"]["title"]["text"]
    assert "class 3 signature" in figure["layout"]["title"]["text"]
    assert len(neighbours) == 6
    bad = frame.views["sample"].sample("small", "mlp", "fc2", 9999, [1, 7, 3])
    assert "no sample 9999" in str(bad[1])


def test_novelty_roc_matches_stored_auroc(frame: Frame):
    histogram, _, roc = frame.views["novelty"].novelty(
        "small", "mlp", "signature_knn_path", 0.1, [1, 7, 3]
    )
    assert [t["name"] for t in histogram["data"]] == ["class 1", "class 7", "class 3"]
    scores, metrics = frame.reader.novelty("small", "mlp")
    row = metrics.set_index("method").loc["signature_knn_path"]
    stored, low, high = row["auroc"], row["auroc_low"], row["auroc_high"]
    assert low < stored < high  # the stored 95 % bootstrap interval, shown in the legend
    name = f"signature_knn_path (AUROC {stored:.3f} [{low:.3f}, {high:.3f}])"
    assert (
        name in [t["name"] for t in roc["data"]] and "bootstrap" in roc["layout"]["title"]["text"]
    )
    last = roc["data"][0]
    assert last["x"][-1] == pytest.approx(1.0) and last["y"][-1] == pytest.approx(1.0)
    test = scores[scores.split.astype(str) == "test"]
    assert stored == pytest.approx(
        auroc(test["signature_knn_path"].to_numpy(), ~test["seen"].to_numpy())
    )


def test_novelty_flags_follow_the_chosen_rate_and_match_the_stored_ones(frame: Frame):
    """At the run's own target the view's flags are the stored ones; a looser target flags at
    least as many; the histogram marks the lowest flagged score."""
    view = frame.views["novelty"]
    assert view.initial({"run": "small", "model": "mlp"})["fdr"] == 0.1
    scores, _ = frame.reader.novelty("small", "mlp")
    pvalues = frame.reader.novelty_pvalues("small", "mlp").set_index("sample_id")
    screened = scores[scores["role"] == "screened"]
    counts = {}
    for fdr in (0.1, 0.5):
        histogram, flags, _ = view.novelty("small", "mlp", "signature_knn_path", fdr, [1, 7, 3])
        bars = flags["data"][0]
        assert [x.split(" (")[0] for x in bars["x"]] == ["class 1", "class 7", "class 3"]
        counts[fdr] = sum(int(x.split(" (")[1].split(" of ")[0]) for x in bars["x"])
        assert f"false discovery rate of {100 * fdr:.0f} %" in flags["layout"]["title"]["text"]
        expected = flag_novel(pvalues.loc[screened["sample_id"], "signature_knn_path"], fdr)
        assert counts[fdr] == expected.sum()
        if expected.any():
            lowest = screened.loc[expected, "signature_knn_path"].min()
            assert histogram["layout"]["shapes"][0]["x0"] == lowest
        else:
            assert "shapes" not in histogram["layout"]
    assert counts[0.1] == int(screened["novel"].sum())  # the stage's own flags
    assert counts[0.5] > counts[0.1]


def test_missing_incomplete_and_escaping_runs_are_messages(small_store: Path, tmp_path: Path):
    copy = tmp_path / "store"
    shutil.copytree(small_store, copy)
    shutil.rmtree(copy / "small" / "novelty" / "mlp")
    frame = Frame(StoreReader(copy))
    *_, message = frame.model_options("small", "mlp")
    assert "incomplete" in message and "novelty" in message
    assert "not allowed" in frame.models("../etc")[2]
    assert "no run 'nothere'" in frame.models("nothere")[2]
    figure = frame.views["embedding"].embedding("..", "mlp", "fc1", [1], "class")
    assert "not allowed" in figure["layout"]["annotations"][0]["text"]
    empty = Frame(StoreReader(tmp_path / "nowhere"))
    assert "no runs" in empty.models(None)[2]


def test_create_app_reads_nothing_until_a_page_is_served(tmp_path: Path, small_store: Path):
    app = create_app(tmp_path / "not-yet")  # no store yet: building the app must not fail
    (tmp_path / "not-yet").mkdir()
    client = create_app(small_store).server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_json()
    assert '"small"' in str(layout).replace("'", '"')
    assert app is not None


def test_dynamics_view_shows_every_snapshot(frame: Frame, small_store: Path):
    view = frame.views["dynamics"]
    assert view.epochs("small", "mlp") == [0, 1, 3]
    slider = view.slider("small", "mlp")[:4]
    assert slider == (0, 3, {0: "epoch 0", 1: "epoch 1", 3: "epoch 3"}, 3)
    heatmap, cka, affinity, mapped = view.figures(
        "small", "mlp", "fc1", [1, 7, 3], "probe_accuracy", 1
    )
    layers = pd.read_parquet(small_store / "small" / "dynamics" / "mlp" / "layers.parquet")
    grid = np.array(cka["data"][0]["z"])
    assert grid.shape == (3, 3) and cka["data"][0]["y"] == ["fc1", "fc2", "logit"]
    stored = layers.set_index(["layer", "epoch"]).loc[("fc2", 1), "cka_final"]
    assert grid[1, 1] == pytest.approx(stored, abs=1e-3)
    assert np.allclose(grid[:, 2], 1.0, atol=1e-3)  # the last snapshot is the final network
    assert "1 vs class 7" in heatmap["layout"]["title"]["text"]
    names = [t["name"] for t in affinity["data"]]
    assert "class 3: closest to class 1" in names and "class 3: called class 7" in names
    assert _points(mapped) == 180 and "epoch 1" in mapped["layout"]["title"]["text"]
    only_three = view.figures("small", "mlp", "fc1", [3], "share_differing", 3)[3]
    assert _points(only_three) == 60
    *_, note, pickers, figures = view.slider("small", "mlp")
    assert note == [] and pickers["display"] == "flex" and figures["display"] == "block"


def test_a_run_without_snapshots_says_how_to_get_dynamics(small_store: Path, tmp_path: Path):
    """No dead slider and no empty figures: one complete sentence says what to set."""
    from pathways.app.views import dynamics

    store = tmp_path / "store"
    shutil.copytree(small_store, store, ignore=shutil.ignore_patterns("dynamics"))
    view = Frame(StoreReader(store)).views["dynamics"]
    assert view.epochs("small", "mlp") == []
    *_, [note], pickers, figures = view.slider("small", "mlp")
    assert note.children == dynamics.NO_SNAPSHOTS
    assert pickers["display"] == figures["display"] == "none"
    sentence = dynamics.NO_SNAPSHOTS
    assert "training.snapshots" in sentence and "pathways run" in sentence
    assert sentence[0].isupper() and sentence.endswith(".")
    text, row, graphs = dynamics.layout({"epochs": []})  # the page as served
    assert text.children[0].children == dynamics.NO_SNAPSHOTS
    assert row.style["display"] == graphs.style["display"] == "none"
    shown = dynamics.layout({"epochs": [0, 1, 3]})
    assert shown[0].children == [] and shown[2].style["display"] == "block"


def test_a_layer_without_a_map_says_how_to_map_it(
    small_store: Path, small_run_config: str, tmp_path
):
    """``analysis.map_layers = 1``: a re-run maps the last hidden layer and the logits only,
    reruns nothing else, and the Embedding view names what is missing and what to set."""
    import tomllib

    from pathways.experiment.config import parse_experiment
    from pathways.stages.plan import build_plan, runner_for

    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    config = small_run_config.replace("[analysis]\n", "[analysis]\nmap_layers = 1\n")
    experiment = parse_experiment(tomllib.loads(config))
    plan = build_plan(experiment, data_dir=tmp_path / "data")
    statuses = runner_for(experiment, store).run(plan, only=["embedding/mlp"])
    assert [s.step.id for s in statuses if s.action == "run"] == ["embedding/mlp"]
    mapped = pd.read_parquet(store / "small" / "embedding" / "mlp" / "embedding.parquet")
    assert list(dict.fromkeys(mapped["layer"])) == ["fc2", "logit"]
    view = Frame(StoreReader(store)).views["embedding"]
    assert _points(view.embedding("small", "mlp", "fc2", [1, 7, 3], "class")) == 180
    missing = view.embedding("small", "mlp", "fc1", [1, 7, 3], "class")
    text = missing["layout"]["annotations"][0]["text"]
    assert "layer fc1 has no 2-D map" in text and "map_layers = 1" in text and "fc2" in text
    assert missing["data"] == []
