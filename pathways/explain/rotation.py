"""The rotation study: how accuracy, class probabilities and layer signatures change as digits
are rotated (Zeiler & Fergus studied rotation the same way).

For each class, test samples are rotated by every angle and passed through the network. Per
layer, a sample's distance to its class's *unrotated* signature is the RMS z-score over units
(class mean from unrotated train samples, unit scale from all trained train samples). A rotated
sample lies outside its signature when that distance exceeds the 95th percentile of unrotated
test samples of the class; the *drift layer* at an angle is the first layer where at least
``drift_share`` of the rotated samples lie outside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage
from torch import nn

from pathways.data.subsets import ImageFormat
from pathways.nets.capture import capture_activations, layer_reducers, of_layers
from pathways.nets.inputs import model_inputs


def rotate(images: np.ndarray, angle: float) -> np.ndarray:
    """uint8[n, h, w] (or [n, h, w, 3]) rotated by ``angle`` degrees (positive:
    counter-clockwise as displayed) about the image centre, same size, black outside, bilinear."""
    if angle == 0:
        return images.copy()
    rotated = ndimage.rotate(
        images.astype(np.float32), angle, axes=(2, 1), reshape=False, order=1, cval=0.0
    )
    return np.clip(np.rint(rotated), 0, 255).astype(np.uint8)


def layer_values(
    model: nn.Module,
    images: np.ndarray,
    description: Mapping[str, Any],
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Analysis layers (conv: channel means then maxes; dense as is; ``logit``) and softmax."""
    hidden = description["hidden_layers"]
    x = model_inputs(images, description["input_kind"], ImageFormat.from_json(description["image"]))
    result = capture_activations(model, [x], layer_reducers(hidden), n_samples=len(x))
    acts = of_layers(result.activations, hidden)
    layers = {}
    for name, kind in hidden.items():
        layers[name] = (
            np.hstack([acts[f"{name}:mean"], acts[f"{name}:max"]]) if kind == "conv" else acts[name]
        )
    layers["logit"] = result.outputs
    logits = result.outputs.astype(np.float64)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    return layers, (probs / probs.sum(1, keepdims=True)).astype(np.float32)


def _distance(values: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.sqrt((((values - mean) / scale) ** 2).mean(1))


def _curve_row(
    where: dict[str, Any], probs: np.ndarray, classes: list[int], n: int
) -> dict[str, Any]:
    """Accuracy, confidence and mean probability of each class of ``n`` rotated samples."""
    predicted = np.asarray(classes)[probs.argmax(1)]
    row = {
        **where,
        "n": n,
        "accuracy": float((predicted == where["label"]).mean()) if where["seen"] else np.nan,
        "confidence": float(probs.max(1).mean()),
    }
    for i, c in enumerate(classes):
        row[f"prob_{c}"] = float(probs[:, i].mean())
        row[f"predicted_{c}"] = float((predicted == c).mean())
    return row


def _outside(distance: np.ndarray, limit: float) -> dict[str, float]:
    """Median distance to the unrotated signature, and the share beyond its 95th percentile."""
    return {
        "distance": float(np.median(distance)),
        "limit": float(limit),
        "share_outside": float((distance > limit).mean()),
    }


def rotation_study(
    model: nn.Module,
    description: Mapping[str, Any],
    samples: pd.DataFrame,
    images: np.ndarray,
    angles: list[float],
    per_class: int,
    drift_share: float,
    advance: Callable[[], None] = lambda: None,
) -> dict[str, pd.DataFrame]:
    """``curves`` (angle, label: accuracy, mean probabilities), ``drift`` (angle, label, layer:
    distance, share outside) and ``drift_layers`` (angle, label: first drifted layer).
    ``advance`` is called after each class."""
    classes = list(description["classes"])
    labels = samples["label"].to_numpy()
    split = samples["split"].astype(str).to_numpy()
    seen = samples["seen"].to_numpy()
    model.eval()

    trained_train = seen & (split == "train")
    reference, _ = layer_values(model, images[trained_train], description)
    scale = {name: v.std(0) + 1e-6 for name, v in reference.items()}
    layer_order = list(reference)

    curves, drift, firsts = [], [], []
    for label in sorted(np.unique(labels), key=lambda c: (c not in classes, c)):
        train_rows = np.flatnonzero((labels == label) & (split == "train"))
        test_rows = np.flatnonzero((labels == label) & (split == "test"))[:per_class]
        own, _ = layer_values(model, images[train_rows], description)
        mean = {name: v.mean(0) for name, v in own.items()}
        base, _ = layer_values(model, images[test_rows], description)
        limit = {
            name: np.quantile(_distance(v, mean[name], scale[name]), 0.95)
            for name, v in base.items()
        }
        is_seen = bool(label in classes)
        for angle in angles:
            values, probs = layer_values(model, rotate(images[test_rows], angle), description)
            where = {"angle": float(angle), "label": int(label), "seen": is_seen}
            curves.append(_curve_row(where, probs, classes, len(test_rows)))
            rows = [
                {
                    **where,
                    "layer": name,
                    "layer_index": index,
                    **_outside(_distance(values[name], mean[name], scale[name]), limit[name]),
                }
                for index, name in enumerate(layer_order)
            ]
            drift += rows
            first = next((r["layer"] for r in rows if r["share_outside"] >= drift_share), None)
            firsts.append({**where, "drift_layer": first})
        advance()
    return {
        "curves": pd.DataFrame(curves),
        "drift": pd.DataFrame(drift),
        "drift_layers": pd.DataFrame(firsts),
    }
