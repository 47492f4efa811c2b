"""The Explain view's callbacks on the small run (no browser)."""

from __future__ import annotations

import numpy as np

from pathways.app.frame import Frame
from pathways.app.views.explain import ExplainView


def _explain(frame: Frame) -> ExplainView:
    return frame.views["explain"]


def test_pickers_list_explained_samples_of_the_chosen_classes(frame: Frame):
    explain = _explain(frame)
    samples, first, clusters, cluster, message = explain.pickers("small", "lenet5", [3])
    assert message == "" and len(samples) == 8 and first == samples[0]["value"]
    assert all("class 3 (unseen)" in option["label"] for option in samples)
    assert clusters and all(" · cluster " in option["label"] for option in clusters)
    everything = explain.pickers("small", "lenet5", [])[0]
    assert len(everything) == 24


def test_an_mlp_is_explained_without_empty_axes(frame: Frame):
    explain = _explain(frame)
    samples, first, _, _, message = explain.pickers("small", "mlp", [1, 7, 3])
    assert message == "" and len(samples) == 24
    panels, maps, _ = explain.sample("small", "mlp", first)
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    assert titles[0] == "input (28×28)" and any(
        t.startswith("Integrated Gradients") for t in titles
    )
    assert not any(t.startswith(("Grad-CAM at", "DeconvNet:")) for t in titles)
    assert any(t.startswith("Grad-CAM not shown: this model has no layer") for t in titles)
    assert len(panels["data"]) == len([t for t in titles if "not shown" not in t])
    assert maps["data"] == [] and "no feature maps" in maps["layout"]["annotations"][0]["text"]
    curves, drift = explain.rotation("small", "mlp", [1, 7, 3])
    assert {t["name"] for t in curves["data"]} >= {"class 1: accuracy", "class 7: accuracy"}
    assert sum(t["type"] == "heatmap" for t in drift["data"]) == 3


def test_sample_panels_show_the_stored_maps(frame: Frame):
    explain = _explain(frame)
    explained = frame.reader.explained("small", "lenet5")
    trained = explained[explained["example"] & explained["seen"]].iloc[0]
    unseen = explained[explained["example"] & ~explained["seen"]].iloc[0]
    panels, maps, info = explain.sample("small", "lenet5", int(trained["sample_id"]))
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    assert len(titles) == 6 and any(
        "(true)" in t for t in titles
    )  # input, 2 occlusions, Integrated Gradients, CAM, deconv
    occlusion = frame.reader.explain_array("small", "lenet5", "occlusion_predicted")
    np.testing.assert_allclose(
        np.asarray(panels["data"][1]["z"]), occlusion[int(trained["row"])], atol=1e-4
    )
    assert f"class {trained['label']} (trained class)" in info
    assert [a["text"].split("<br>")[0] for a in maps["layout"]["annotations"]] == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "conv3",
    ]
    panels, _, info = explain.sample("small", "lenet5", int(unseen["sample_id"]))
    assert len(panels["layout"]["annotations"]) == 5 and "unseen class" in info
    missing = explain.sample("small", "lenet5", 10**6)[0]
    assert missing["data"] == [] and "explained sample" in str(missing["layout"])


def test_cluster_panels_are_the_members_mean_maps(frame: Frame):
    explain = _explain(frame)
    clusters = frame.reader.explain_clusters("small", "lenet5")
    row = clusters.iloc[-1]
    figure = explain.cluster("small", "lenet5", int(row["index"]))
    assert f"{row['layer']} cluster {row['cluster']}" in figure["layout"]["title"]["text"]
    mean = frame.reader.explain_array("small", "lenet5", "cluster_image")[int(row["index"])]
    np.testing.assert_allclose(np.asarray(figure["data"][0]["z"]), mean, atol=1e-4)
