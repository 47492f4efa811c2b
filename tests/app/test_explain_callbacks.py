"""The Explain view's callbacks on the small run (no browser)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from PIL import Image

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
    panels, maps, _, maps_box = explain.sample_with_maps_box("small", "mlp", first)
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    assert titles[0] == "input (28×28)" and any(
        t.startswith("Integrated Gradients") for t in titles
    )
    assert not any(t.startswith(("Grad-CAM at", "DeconvNet:")) for t in titles)
    notes = [t for t in titles if "not shown" in t]
    assert notes == [
        "Grad-CAM and DeconvNet not shown: this model has no layer with spatial feature maps "
        "(Grad-CAM and the DeconvNet need one)",
        "feature maps not shown: no layer of this model has spatial feature maps",
    ]
    assert len(panels["data"]) == len(titles) - len(notes)
    # no empty feature-map figure leaves a gap: its box is hidden, the notes say why
    assert maps["data"] == [] and maps_box == {"display": "none"}
    curves, drift = explain.rotation("small", "mlp", [1, 7, 3])
    assert {t["name"] for t in curves["data"]} >= {"class 1: accuracy", "class 7: accuracy"}
    assert sum(t["type"] == "heatmap" for t in drift["data"]) == 3


def test_sample_panels_show_the_stored_maps(frame: Frame):
    explain = _explain(frame)
    explained = frame.reader.explained("small", "lenet5")
    trained = explained[explained["example"] & explained["seen"]].iloc[0]
    unseen = explained[explained["example"] & ~explained["seen"]].iloc[0]
    sample_id = int(trained["sample_id"])
    panels, maps, info, maps_box = explain.sample_with_maps_box("small", "lenet5", sample_id)
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    assert len(titles) == 6 and any(
        "(true" in t for t in titles
    )  # input, 2 occlusions, Integrated Gradients, CAM, deconv
    assert maps_box == {"display": "block"}
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


def test_six_panel_titles_fit_their_panels(frame: Frame):
    """Six panels side by side in the explorer's 1400-pixel window get ~200 pixels each: every
    line of a title stays within 30 characters (12-pixel type), so titles do not run together."""
    explained = frame.reader.explained("small", "lenet5")
    trained = explained[explained["example"] & explained["seen"]].iloc[0]
    panels = _explain(frame).sample("small", "lenet5", int(trained["sample_id"]))[0]
    titles = [a["text"] for a in panels["layout"]["annotations"] if a["xref"] != "paper"]
    assert len(titles) == 6
    longest = max(len(line) for title in titles for line in title.split("<br>"))
    assert longest <= 30, titles


def _png(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def _drawn(trace: dict, z: float) -> str:
    """The colour a grey-image heatmap gives the value ``z`` (its scale has two stops)."""
    scale = trace["colorscale"]
    return scale[0][1] if z <= trace["zmin"] else scale[-1][1] if z >= trace["zmax"] else "mixed"


def test_input_images_are_drawn_one_way_everywhere(frame: Frame):
    """White digit on black, as the data stores it: the Explain view's input panel and cluster
    mean, and the Sample view's image (a PNG of the stored pixels)."""
    explained = frame.reader.explained("small", "mlp")
    row = explained[explained["example"]].iloc[0]
    panels = _explain(frame).sample("small", "mlp", int(row["sample_id"]))[0]
    stored = frame.reader.image("small", int(row["sample_id"]))
    ink, paper = np.unravel_index(stored.argmax(), stored.shape), (0, 0)
    assert stored[paper] == 0 and stored[ink] == 255
    png = _png(frame.reader.image_uri("small", int(row["sample_id"])))
    scale = png.shape[0] // stored.shape[0]  # scaled up, nearest neighbour
    assert png[paper] == 0 and png[ink[0] * scale, ink[1] * scale] == 255  # black paper, white ink
    image = panels["data"][0]
    z = np.asarray(image["z"])
    assert _drawn(image, z[paper]) == "#000000" and _drawn(image, z[ink]) == "#ffffff"
    mean = _explain(frame).cluster("small", "mlp", 0)["data"][0]
    assert mean["colorscale"] == image["colorscale"]


def test_cluster_choices_give_the_share_of_all_members(frame: Frame):
    """The picker's "N samples, k (p %) of them class X" counts every member of the cluster
    (the clusters step's assignments), not the few drawn for the mean maps."""
    options = _explain(frame).pickers("small", "lenet5", [1, 7, 3])[2]
    clusters = frame.reader.explain_clusters("small", "lenet5")
    store = frame.reader.store / "small"
    assignments = pd.read_parquet(store / "clusters" / "lenet5" / "assignments.parquet")
    labels = pd.read_parquet(store / "data" / "samples.parquet", columns=["sample_id", "label"])
    members = assignments.merge(labels, on="sample_id")
    assert len(options) == len(clusters)
    for option, row in zip(options, clusters.itertuples(), strict=True):
        mine = members[(members.layer == row.layer) & (members.cluster == row.cluster)]
        counts = mine["label"].value_counts()
        top, n = int(counts.index[0]), int(counts.iloc[0])
        expected = (
            f"{row.layer} · cluster {row.cluster}: {len(mine)} samples, "
            f"{n} ({n / len(mine):.0%}) of them class {top}"
        )
        assert option["label"] == expected
