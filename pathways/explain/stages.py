"""The ``explain`` stage (CNN models) and the ``rotation`` stage (every model).

``explain/M`` explains ``samples_per_class`` test samples of every class one by one (feature
maps, occlusion, Grad-CAM, DeconvNet) and gives every cluster of the chosen layers its members'
mean image, occlusion and Grad-CAM maps. ``rotation/M`` runs the rotation study.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from pathways.data.subsets import model_inputs, read_samples
from pathways.errors import ConfigError
from pathways.explain.attribution import (
    deconv_projections,
    gradcam_maps,
    occlusion_maps,
    strongest_activation,
)
from pathways.explain.feature_maps import feature_maps
from pathways.explain.rotation import rotation_study
from pathways.progress import Progress
from pathways.stages import load_trained_model


def _examples(samples: pd.DataFrame, per_class: int) -> np.ndarray:
    """sample_ids of the first ``per_class`` test samples of every class, trained classes first."""
    test = samples[samples["split"].astype(str) == "test"]
    order = sorted(
        test["label"].unique(), key=lambda c: (not test.loc[test.label == c, "seen"].iloc[0], c)
    )
    return np.concatenate(
        [test.loc[test["label"] == c, "sample_id"].to_numpy()[:per_class] for c in order]
    )


def _members(
    assignments: pd.DataFrame, layers: list[str], per_cluster: int, seed: int
) -> pd.DataFrame:
    """(layer, cluster, sample_id) of at most ``per_cluster`` seeded members per cluster."""
    rng = np.random.default_rng(seed)
    rows = []
    for layer in layers:
        frame = assignments[assignments["layer"] == layer]
        for cluster, group in frame.groupby("cluster", sort=True):
            ids = group["sample_id"].to_numpy()
            chosen = np.sort(rng.choice(ids, size=min(per_cluster, len(ids)), replace=False))
            rows.append(
                pd.DataFrame(
                    {"layer": layer, "cluster": int(cluster), "size": len(ids), "sample_id": chosen}
                )
            )
    return pd.concat(rows, ignore_index=True)


def explain_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    description = inputs["train"]["model"]
    if description["input_kind"] != "image32":
        raise ConfigError(f"explain: model {description['spec']['name']!r} is not a CNN")
    model = load_trained_model(description, inputs["train"]["weights.pt"])
    classes = list(description["classes"])
    samples, images = read_samples(inputs["data"].path("samples"))
    assignments = inputs["clusters"]["assignments"]
    known_layers = list(dict.fromkeys(assignments["layer"]))
    cluster_layers = params["cluster_layers"] or [n for n in known_layers if n != "logit"]
    unknown = [n for n in cluster_layers if n not in known_layers]
    if unknown:
        raise ConfigError(
            f"explain.cluster_layers: {unknown[0]!r} is not a layer of {description['spec']['name']} "
            f"— use some of: {', '.join(known_layers)}"
        )

    examples = _examples(samples, params["samples_per_class"])
    members = _members(assignments, cluster_layers, params["members_per_cluster"], params["seed"])
    member_ids = np.setdiff1d(members["sample_id"].unique(), examples)
    ids = np.concatenate([examples, member_ids])  # examples first: feature maps index them
    by_id = samples.set_index("sample_id")
    x = torch.from_numpy(model_inputs(images[ids], "image32"))

    advance = progress.task(f"explain {description['spec']['name']}", total=4)
    with torch.no_grad():
        probs = torch.softmax(model(x), 1).numpy()
    predicted = probs.argmax(1)
    labels = by_id.loc[ids, "label"].to_numpy()
    index = {c: i for i, c in enumerate(classes)}
    true_index = np.array([index.get(int(c), -1) for c in labels])
    occlusion_pred = occlusion_maps(
        model, x, predicted, params["occlusion_patch"], params["occlusion_stride"]
    )
    # The true class's map for the explained examples of trained classes (cluster members
    # need only the predicted class's map; an unseen class has no output of its own).
    occlusion_true = np.full((len(examples), *occlusion_pred.shape[1:]), np.nan, np.float32)
    has_true = true_index >= 0
    wanted = np.flatnonzero(has_true[: len(examples)])
    if len(wanted):
        occlusion_true[wanted] = occlusion_maps(
            model,
            x[wanted],
            true_index[wanted],
            params["occlusion_patch"],
            params["occlusion_stride"],
        )
    advance(1, note="occlusion")
    gradcam = gradcam_maps(model, params["layer"], x, predicted)
    advance(1, note="Grad-CAM")
    strongest = strongest_activation(model, params["layer"], x)
    relu = description["spec"].get("activation", "relu") == "relu"
    deconv = (
        deconv_projections(model, params["layer"], x, strongest["flat_index"])
        if relu
        else np.full(gradcam.shape, np.nan, dtype=np.float32)
    )
    advance(1, note="DeconvNet")
    maps = feature_maps(model, x[: len(examples)])
    advance(1, note="feature maps")

    explained = pd.DataFrame(
        {
            "row": np.arange(len(ids)),
            "sample_id": ids,
            "label": labels,
            "seen": by_id.loc[ids, "seen"].to_numpy(),
            "example": np.arange(len(ids)) < len(examples),
            "predicted_class": np.asarray(classes)[predicted],
            "confidence": probs.max(1).astype(np.float32),
            "prob_true": np.where(
                has_true, probs[np.arange(len(ids)), np.maximum(true_index, 0)], np.nan
            ).astype(np.float32),
            "deconv_channel": strongest["channel"],
            "deconv_y": strongest["y"],
            "deconv_x": strongest["x"],
            "deconv_activation": strongest["value"],
        }
    )
    row_of = dict(zip(ids, range(len(ids)), strict=True))
    cluster_rows, mean_image, mean_occlusion, mean_gradcam = [], [], [], []
    images32 = x[:, 0].numpy()
    for (layer, cluster), group in members.groupby(["layer", "cluster"], sort=False):
        rows = np.array([row_of[i] for i in group["sample_id"]])
        counts = pd.Series(labels[rows]).value_counts()
        cluster_rows.append(
            {
                "index": len(cluster_rows),
                "layer": layer,
                "cluster": int(cluster),
                "size": int(group["size"].iloc[0]),
                "n_used": len(rows),
                "majority_class": int(counts.index[0]),
                "majority_share": float(counts.iloc[0] / len(rows)),
                **{f"count_{c}": int(counts.get(c, 0)) for c in sorted(set(samples["label"]))},
            }
        )
        mean_image.append(images32[rows].mean(0))
        mean_occlusion.append(occlusion_pred[rows].mean(0))
        mean_gradcam.append(gradcam[rows].mean(0))
    progress.log(
        f"{len(examples)} samples explained, "
        f"{len(cluster_rows)} clusters' mean maps from {len(ids)} samples"
    )
    produced: dict[str, Any] = {
        "explained": explained,
        "clusters": pd.DataFrame(cluster_rows),
        "cluster_members": members.drop(columns=["size"]),
        "images": images32.astype(np.float32),
        "occlusion_predicted": occlusion_pred,
        "occlusion_true": occlusion_true,
        "gradcam": gradcam,
        "deconv": deconv,
        "cluster_image": np.stack(mean_image).astype(np.float32),
        "cluster_occlusion": np.stack(mean_occlusion).astype(np.float32),
        "cluster_gradcam": np.stack(mean_gradcam).astype(np.float32),
        "settings": {
            "layer": params["layer"],
            "occlusion_patch": params["occlusion_patch"],
            "occlusion_stride": params["occlusion_stride"],
            "cluster_layers": cluster_layers,
            "classes": classes,
            "deconv": "relu" if relu else "skipped: DeconvNet needs ReLU activations",
            "feature_map_layers": list(maps),
        },
    }
    for name, values in maps.items():
        produced[f"maps_{name}"] = values.astype(np.float32)
    return produced


def rotation_stage(
    inputs: Mapping[str, Any], params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    description = inputs["train"]["model"]
    model = load_trained_model(description, inputs["train"]["weights.pt"])
    samples, images = read_samples(inputs["data"].path("samples"))
    advance = progress.task("rotation", total=samples["label"].nunique())
    result = rotation_study(
        model,
        description,
        samples,
        images,
        params["rotation_angles"],
        params["rotation_samples_per_class"],
        params["drift_share"],
        advance,
    )
    summary = result["drift_layers"]
    progress.log(f"{len(params['rotation_angles'])} angles × {summary['label'].nunique()} classes")
    return result
