"""The explanation stages, for every model: ``explain`` and ``rotation``.

``explain/M`` explains ``samples_per_class`` test samples of every class one by one (occlusion
and Integrated Gradients for every model; Grad-CAM, the DeconvNet and feature maps where the
model has spatial layers and, for the DeconvNet, where the path to its layer can be inverted)
and gives every cluster of the chosen layers its members' mean image, occlusion and Grad-CAM
maps. Settings say, per method, why it does not apply when it does not. ``rotation/M`` runs
the rotation study.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from pathways.data.subsets import ImageFormat, read_samples
from pathways.engine.artifacts import Artifact
from pathways.engine.progress import Progress
from pathways.errors import ConfigError
from pathways.explain.attribution import (
    deconv_obstacle,
    deconv_projections,
    gradcam_maps,
    integrated_gradients,
    occlusion_maps,
    strongest_activation,
)
from pathways.explain.feature_maps import feature_maps
from pathways.explain.rotation import rotation_study
from pathways.nets.inputs import pixels
from pathways.nets.layer_choice import explain_layer, spatial_layers
from pathways.nets.trained import explainable, load_trained_model


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
    """(layer, cluster, sample_id) of at most ``per_cluster`` seeded members per cluster.

    Every layer draws its members first from one seeded pool of samples (a uniform draw of
    2 × ``per_cluster`` × the most clusters a layer has), then tops up from the rest of the
    cluster: each cluster's members are still a uniform draw of it in expectation (the pool
    knows nothing of the clusters), and the samples explained — occlusion, Integrated
    Gradients and Grad-CAM of each — no longer grow with the number of layers (a 16-layer
    residual network: 160 samples instead of 739; README "Where the time goes")."""
    rng = np.random.default_rng(seed)
    frame = assignments[assignments["layer"].isin(layers)]
    most = int(frame.groupby("layer")["cluster"].nunique().max())
    everyone = np.unique(frame["sample_id"].to_numpy())
    pool = rng.choice(everyone, size=min(len(everyone), 2 * per_cluster * most), replace=False)
    rows = []
    for layer in layers:
        for cluster, group in frame[frame["layer"] == layer].groupby("cluster", sort=True):
            ids = group["sample_id"].to_numpy()
            pooled = np.isin(ids, pool)
            chosen = _draw(rng, ids[pooled], per_cluster)
            chosen = np.concatenate([chosen, _draw(rng, ids[~pooled], per_cluster - len(chosen))])
            rows.append(
                pd.DataFrame(
                    {
                        "layer": layer,
                        "cluster": int(cluster),
                        "size": len(ids),
                        "sample_id": np.sort(chosen),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _draw(rng: np.random.Generator, ids: np.ndarray, n: int) -> np.ndarray:
    """At most ``n`` of ``ids``, a seeded draw without replacement."""
    if n <= 0 or len(ids) == 0:
        return ids[:0]
    return rng.choice(ids, size=min(n, len(ids)), replace=False)


def explain_stage(
    data: Artifact,
    train: Artifact,
    clusters: Artifact,
    *,
    samples_per_class: int,
    layer: str,
    occlusion_patch: int,
    occlusion_stride: int,
    ig_steps: int,
    cluster_layers: list[str] | None,
    members_per_cluster: int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """Explain ``samples_per_class`` test samples of every class one by one, and give every
    cluster of ``cluster_layers`` its members' mean image, occlusion and Grad-CAM maps."""
    description = train["model"]
    name = description["spec"]["name"]
    network, model, image = explainable(description, train["weights.pt"])
    _check_patch(occlusion_patch, occlusion_stride, image)
    classes = list(description["classes"])
    samples, images = read_samples(data.path("samples"))
    assignments = clusters["assignments"]
    chosen = _cluster_layers(assignments, cluster_layers, name)
    examples = _examples(samples, samples_per_class)
    members = _members(assignments, chosen, members_per_cluster, seed)
    ids = np.concatenate([examples, np.setdiff1d(members["sample_id"].unique(), examples)])
    by_id = samples.set_index("sample_id")  # examples first: feature maps index them
    x = pixels(images[ids])
    labels = by_id.loc[ids, "label"].to_numpy()
    true_index = np.array([classes.index(c) if c in classes else -1 for c in labels.tolist()])
    target = explain_layer(description, layer)
    advance = progress.task(f"explain {name}", total=5)
    methods = _applicable(model, network, target, x)
    windows = (occlusion_patch, occlusion_stride, ig_steps)
    found = _attributions(model, x, true_index, len(examples), target, methods, *windows, advance)
    shown = _feature_map_layers(network, description)
    maps = feature_maps(model, x[: len(examples)], shown) if shown else {}
    advance(1, note="feature maps")
    seen = by_id.loc[ids, "seen"].to_numpy()
    explained = _explained_table(ids, labels, seen, len(examples), classes, true_index, found)
    pictures = x.permute(0, 2, 3, 1).numpy() if image.channels == 3 else x[:, 0].numpy()
    means = _cluster_means(members, ids, labels, sorted(set(samples["label"])), pictures, found)
    progress.log(
        f"{len(examples)} samples explained, "
        f"{len(means['clusters'])} clusters' mean maps from {len(ids)} samples"
    )
    settings = {
        "layer": target,
        "occlusion_patch": occlusion_patch,
        "occlusion_stride": occlusion_stride,
        "ig_steps": ig_steps,
        "cluster_layers": chosen,
        "classes": classes,
        "methods": methods,
    }
    return _outputs(explained, members, pictures, found, means, settings, maps)


def _outputs(
    explained: pd.DataFrame,
    members: pd.DataFrame,
    pictures: np.ndarray,
    found: dict[str, Any],
    means: dict[str, Any],
    settings: dict[str, Any],
    maps: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The explain step's outputs; ``settings`` gains the feature-map layers."""
    settings = {
        **settings,
        "feature_map_layers": list(maps),
        "feature_maps": None if maps else "no layer of this model has spatial feature maps",
    }
    return {
        "explained": explained,
        "clusters": means.pop("clusters"),
        "cluster_members": members.drop(columns=["size"]),
        "images": pictures.astype(np.float32),
        **{k: found[k] for k in _PER_SAMPLE_MAPS},
        **means,
        "settings": settings,
        **{f"maps_{n}": values.astype(np.float32) for n, values in maps.items()},
    }


_PER_SAMPLE_MAPS = (
    "occlusion_predicted",
    "occlusion_true",
    "integrated_gradients",
    "gradcam",
    "deconv",
)
"""The per-sample maps of every explained row, stored as arrays of those names."""


def _check_patch(patch: int, stride: int, image: ImageFormat) -> None:
    side = min(image.size)
    for key, value in (("occlusion_patch", patch), ("occlusion_stride", stride)):
        if value > side:
            raise ConfigError(
                f"explain.{key}: {value} pixels is more than the {image.describe()} images — "
                f"set at most {side}"
            )


def _applicable(
    model: torch.nn.Module, network: torch.nn.Module, layer: str | None, x: torch.Tensor
) -> dict[str, str | None]:
    """Per method, None when it applies, otherwise why not (in words, for the explorer)."""
    if layer is None:
        why = "this model has no layer with spatial feature maps (Grad-CAM and the DeconvNet need one)"
        return {"occlusion": None, "integrated_gradients": None, "gradcam": why, "deconv": why}
    return {
        "occlusion": None,
        "integrated_gradients": None,
        "gradcam": None,
        "deconv": deconv_obstacle(model, network, "network." + layer, x, shown=layer),
    }


def _feature_map_layers(network: torch.nn.Module, description: dict[str, Any]) -> dict[str, str]:
    """Display name → layer key (under the pixel wrapper) of the maps shown per sample."""
    declared = getattr(network, "feature_map_layers", None)
    if declared is None:
        declared = {k: k for k in spatial_layers(description["hidden_layers"])}
    return {name: "network." + key for name, key in declared.items()}


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
    layer: str | None,
    methods: dict[str, str | None],
    patch: int,
    stride: int,
    ig_steps: int,
    advance: Any,
) -> dict[str, Any]:
    """Class probabilities, occlusion (predicted class; the true class for the explained
    examples of trained classes), Integrated Gradients, and where they apply Grad-CAM and the
    DeconvNet projection of each sample's strongest activation of ``layer`` (NaN otherwise)."""
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
    ig = integrated_gradients(model, x, predicted, ig_steps)
    advance(1, note="Integrated Gradients")
    blank = np.full(occlusion_pred.shape, np.nan, dtype=np.float32)
    key = None if layer is None else "network." + layer
    gradcam = gradcam_maps(model, key, x, predicted) if methods["gradcam"] is None else blank
    advance(1, note="Grad-CAM")
    if key is not None:
        strongest = strongest_activation(model, key, x)
    else:
        none = np.full(len(x), -1)
        strongest = {"channel": none, "y": none, "x": none, "value": np.full(len(x), np.nan)}
    deconv = (
        deconv_projections(model, key, x, strongest["flat_index"])
        if methods["deconv"] is None
        else blank
    )
    advance(1, note="DeconvNet")
    return {
        "probs": probs,
        "occlusion_predicted": occlusion_pred,
        "occlusion_true": occlusion_true,
        "integrated_gradients": ig,
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
    """Per cluster: its composition, and its members' mean image, occlusion, Integrated
    Gradients and Grad-CAM."""
    row_of = dict(zip(ids, range(len(ids)), strict=True))
    rows_out, mean_image, mean_occlusion, mean_ig, mean_gradcam = [], [], [], [], []
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
        mean_ig.append(found["integrated_gradients"][rows].mean(0))
        mean_gradcam.append(found["gradcam"][rows].mean(0))
    return {
        "clusters": pd.DataFrame(rows_out),
        "cluster_image": np.stack(mean_image).astype(np.float32),
        "cluster_occlusion": np.stack(mean_occlusion).astype(np.float32),
        "cluster_integrated_gradients": np.stack(mean_ig).astype(np.float32),
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
