"""The explanation stages: ``explain`` (CNN model types) and ``rotation`` (every model).

``explain/M`` explains ``samples_per_class`` test samples of every class one by one (feature
maps, occlusion, Grad-CAM, DeconvNet) and gives every cluster of the chosen layers its members'
mean image, occlusion and Grad-CAM maps. ``rotation/M`` runs the rotation study.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from pathways.artifacts import Artifact
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
from pathways.model_types import model_type
from pathways.network_stages import load_trained_model
from pathways.progress import Progress


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
    data: Artifact,
    train: Artifact,
    clusters: Artifact,
    *,
    samples_per_class: int,
    layer: str,
    occlusion_patch: int,
    occlusion_stride: int,
    cluster_layers: list[str] | None,
    members_per_cluster: int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """Explain ``samples_per_class`` test samples of every class one by one, and give every
    cluster of ``cluster_layers`` its members' mean input, occlusion and Grad-CAM maps."""
    description = train["model"]
    name = description["spec"]["name"]
    if not model_type(description["spec"]["type"]).explanations:
        raise ConfigError(f"explain: model {name!r} is not a CNN")
    model = load_trained_model(description, train["weights.pt"])
    classes = list(description["classes"])
    samples, images = read_samples(data.path("samples"))
    assignments = clusters["assignments"]
    chosen = _cluster_layers(assignments, cluster_layers, name)
    examples = _examples(samples, samples_per_class)
    members = _members(assignments, chosen, members_per_cluster, seed)
    ids = np.concatenate([examples, np.setdiff1d(members["sample_id"].unique(), examples)])
    by_id = samples.set_index("sample_id")  # examples first: feature maps index them
    x = torch.from_numpy(model_inputs(images[ids], description["input_kind"]))
    labels = by_id.loc[ids, "label"].to_numpy()
    index = {c: i for i, c in enumerate(classes)}
    true_index = np.array([index.get(int(c), -1) for c in labels])
    advance = progress.task(f"explain {name}", total=4)
    relu = description["spec"].get("activation", "relu") == "relu"
    found = _attributions(
        model, x, true_index, len(examples), layer, occlusion_patch, occlusion_stride, relu, advance
    )
    maps = feature_maps(model, x[: len(examples)])
    advance(1, note="feature maps")
    seen = by_id.loc[ids, "seen"].to_numpy()
    explained = _explained_table(ids, labels, seen, len(examples), classes, true_index, found)
    pictures = x[:, 0].numpy()
    means = _cluster_means(members, ids, labels, sorted(set(samples["label"])), pictures, found)
    progress.log(
        f"{len(examples)} samples explained, "
        f"{len(means['clusters'])} clusters' mean maps from {len(ids)} samples"
    )
    settings = {
        "layer": layer,
        "occlusion_patch": occlusion_patch,
        "occlusion_stride": occlusion_stride,
        "cluster_layers": chosen,
        "classes": classes,
        "deconv": "relu" if relu else "skipped: DeconvNet needs ReLU activations",
        "feature_map_layers": list(maps),
    }
    return {
        "explained": explained,
        "clusters": means.pop("clusters"),
        "cluster_members": members.drop(columns=["size"]),
        "images": pictures.astype(np.float32),
        **{k: found[k] for k in ("occlusion_predicted", "occlusion_true", "gradcam", "deconv")},
        **means,
        "settings": settings,
        **{f"maps_{n}": values.astype(np.float32) for n, values in maps.items()},
    }


def _explained_table(
    ids: np.ndarray,
    labels: np.ndarray,
    seen: np.ndarray,
    n_examples: int,
    classes: list[int],
    true_index: np.ndarray,
    found: dict[str, Any],
) -> pd.DataFrame:
    """One row per explained sample (examples first, then cluster members)."""
    strongest = found["strongest"]
    return pd.DataFrame(
        {
            "row": np.arange(len(ids)),
            "sample_id": ids,
            "label": labels,
            "seen": seen,
            "example": np.arange(len(ids)) < n_examples,
            **_prediction_columns(found["probs"], classes, true_index),
            "deconv_channel": strongest["channel"],
            "deconv_y": strongest["y"],
            "deconv_x": strongest["x"],
            "deconv_activation": strongest["value"],
        }
    )


def _cluster_layers(assignments: pd.DataFrame, wanted: list[str] | None, model: str) -> list[str]:
    """The layers whose clusters get mean maps: ``wanted``, or every hidden layer."""
    known = list(dict.fromkeys(assignments["layer"]))
    chosen = wanted or [n for n in known if n != "logit"]
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ConfigError(
            f"explain.cluster_layers: {unknown[0]!r} is not a layer of {model} "
            f"— use some of: {', '.join(known)}"
        )
    return chosen


def _attributions(
    model: torch.nn.Module,
    x: torch.Tensor,
    true_index: np.ndarray,
    n_examples: int,
    layer: str,
    patch: int,
    stride: int,
    relu: bool,
    advance: Any,
) -> dict[str, Any]:
    """Class probabilities, occlusion (predicted class; the true class for the explained
    examples of trained classes), Grad-CAM and the DeconvNet projection of each sample's
    strongest activation of ``layer``."""
    with torch.no_grad():
        probs = torch.softmax(model(x), 1).numpy()
    predicted = probs.argmax(1)
    occlusion_pred = occlusion_maps(model, x, predicted, patch, stride)
    # Cluster members need only the predicted class's map; an unseen class has no output.
    occlusion_true = np.full((n_examples, *occlusion_pred.shape[1:]), np.nan, np.float32)
    wanted = np.flatnonzero((true_index >= 0)[:n_examples])
    if len(wanted):
        occlusion_true[wanted] = occlusion_maps(model, x[wanted], true_index[wanted], patch, stride)
    advance(1, note="occlusion")
    gradcam = gradcam_maps(model, layer, x, predicted)
    advance(1, note="Grad-CAM")
    strongest = strongest_activation(model, layer, x)
    deconv = (
        deconv_projections(model, layer, x, strongest["flat_index"])
        if relu
        else np.full(gradcam.shape, np.nan, dtype=np.float32)
    )
    advance(1, note="DeconvNet")
    return {
        "probs": probs,
        "occlusion_predicted": occlusion_pred,
        "occlusion_true": occlusion_true,
        "gradcam": gradcam,
        "strongest": strongest,
        "deconv": deconv,
    }


def _prediction_columns(
    probs: np.ndarray, classes: list[int], true_index: np.ndarray
) -> dict[str, np.ndarray]:
    has_true = true_index >= 0
    rows = np.arange(len(probs))
    return {
        "predicted_class": np.asarray(classes)[probs.argmax(1)],
        "confidence": probs.max(1).astype(np.float32),
        "prob_true": np.where(has_true, probs[rows, np.maximum(true_index, 0)], np.nan).astype(
            np.float32
        ),
    }


def _cluster_means(
    members: pd.DataFrame,
    ids: np.ndarray,
    labels: np.ndarray,
    all_classes: list[int],
    pictures: np.ndarray,
    found: dict[str, Any],
) -> dict[str, Any]:
    """Per cluster: its composition, and its members' mean input, occlusion and Grad-CAM."""
    row_of = dict(zip(ids, range(len(ids)), strict=True))
    rows_out, mean_image, mean_occlusion, mean_gradcam = [], [], [], []
    for (layer, cluster), group in members.groupby(["layer", "cluster"], sort=False):
        rows = np.array([row_of[i] for i in group["sample_id"]])
        counts = pd.Series(labels[rows]).value_counts()
        rows_out.append(
            {
                "index": len(rows_out),
                "layer": layer,
                "cluster": int(cluster),
                "size": int(group["size"].iloc[0]),
                "n_used": len(rows),
                "majority_class": int(counts.index[0]),
                "majority_share": float(counts.iloc[0] / len(rows)),
                **{f"count_{c}": int(counts.get(c, 0)) for c in all_classes},
            }
        )
        mean_image.append(pictures[rows].mean(0))
        mean_occlusion.append(found["occlusion_predicted"][rows].mean(0))
        mean_gradcam.append(found["gradcam"][rows].mean(0))
    return {
        "clusters": pd.DataFrame(rows_out),
        "cluster_image": np.stack(mean_image).astype(np.float32),
        "cluster_occlusion": np.stack(mean_occlusion).astype(np.float32),
        "cluster_gradcam": np.stack(mean_gradcam).astype(np.float32),
    }


def rotation_stage(
    data: Artifact,
    train: Artifact,
    *,
    rotation_angles: list[float],
    rotation_samples_per_class: int,
    drift_share: float,
    progress: Progress,
) -> dict[str, Any]:
    """How accuracy, class probabilities and each layer's signature drift as digits turn."""
    description = train["model"]
    model = load_trained_model(description, train["weights.pt"])
    samples, images = read_samples(data.path("samples"))
    advance = progress.task("rotation", total=samples["label"].nunique())
    result = rotation_study(
        model,
        description,
        samples,
        images,
        rotation_angles,
        rotation_samples_per_class,
        drift_share,
        advance,
    )
    summary = result["drift_layers"]
    progress.log(f"{len(rotation_angles)} angles × {summary['label'].nunique()} classes")
    return result
