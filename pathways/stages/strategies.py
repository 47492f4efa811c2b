"""The ``strategies`` stage, for every model: how many ways the network recognises each trained
class, where each way attends, and which activation path it takes.

Per trained class, up to ``samples_per_class`` samples of ``split`` (a seeded draw) are
explained towards their own class (Integrated Gradients from a black image, or Grad-CAM where
the model has spatial layers), and :mod:`pathways.analysis.strategies` groups the maps
(SpRAy) and ties the groups to the samples' paths from the ``paths`` stage.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pathways.analysis.strategies import (
    Strategies,
    attended_region,
    features,
    hdbscan_strategies,
    path_agreement,
    region_shares,
    spectral_strategies,
)
from pathways.data.subsets import read_samples
from pathways.engine.artifacts import Artifact
from pathways.engine.progress import Progress
from pathways.errors import DataError
from pathways.explain.attribution import gradcam_maps, integrated_gradients
from pathways.explain.masking import masked_drop, top_pixels
from pathways.nets.inputs import pixels
from pathways.nets.layer_choice import explain_layer
from pathways.nets.trained import explainable


def strategies_stage(
    data: Artifact,
    train: Artifact,
    paths: Artifact,
    *,
    samples_per_class: int,
    split: str,
    method: str,
    ig_steps: int,
    map_side: int,
    clustering: str,
    max_strategies: int,
    neighbours: int,
    permutations: int,
    mask_share: float,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """Each trained class's strategies: its explanations grouped, described and set against
    the paths its samples take."""
    description = train["model"]
    _, model, _ = explainable(description, train["weights.pt"])
    used, note = _method(description, method)
    samples, images = read_samples(data.path("samples"))
    path_of = paths["sample_paths"].set_index("sample_id")["path"]
    classes = list(description["classes"])
    advance = progress.task(f"strategies {description['spec']['name']}", total=len(classes))
    group = _grouping(clustering, max_strategies, neighbours, seed, map_side)
    found = []
    for index, cls in enumerate(classes):
        ids = _drawn(samples, cls, split, samples_per_class, seed)
        x = pixels(images[ids])
        maps = _attributions(model, description, used, x, index, ig_steps)
        paths_of = path_of.loc[ids].to_numpy()
        found.append(_one_class(cls, ids, maps, paths_of, group, permutations, seed))
        _check_by_masking(found[-1], model, x, index, mask_share)
        advance(1, note=f"class {cls}: {found[-1]['summary']['k']} strategies")
    settings = {
        "method": used,
        "method_asked": method,
        "method_note": note,
        "split": split,
        "samples_per_class": samples_per_class,
        "map_side": map_side,
        "clustering": clustering,
        "max_strategies": max_strategies,
        "neighbours": neighbours,
        "permutations": permutations,
        "mask_share": mask_share,
        "classes": classes,
    }
    progress.log(
        ", ".join(f"class {f['summary']['class']}: {f['summary']['k']}" for f in found)
        + f" strategies ({used})"
    )
    return _outputs(found, settings)


def _method(description: dict[str, Any], asked: str) -> tuple[str, str | None]:
    """The method used, and why it is not the one asked when it is not (Grad-CAM needs a layer
    with spatial feature maps: a model without one is explained by Integrated Gradients)."""
    if asked == "gradcam" and explain_layer(description) is None:
        return "integrated_gradients", (
            "Grad-CAM needs a layer with spatial feature maps and this model has none: "
            "Integrated Gradients used"
        )
    return asked, None


def _drawn(samples: pd.DataFrame, cls: Any, split: str, most: int, seed: int) -> np.ndarray:
    """sample_ids of at most ``most`` samples of class ``cls`` in ``split`` (``all``: every
    split), a seeded draw, in sample_id order."""
    mine = samples[samples["label"] == cls]
    if split != "all":
        mine = mine[mine["split"].astype(str) == split]
    ids = mine["sample_id"].to_numpy()
    if not len(ids):
        raise DataError(
            f"strategies: class {cls} has no {split} samples to explain — set "
            'strategies.split = "all" or give the class more samples'
        )
    if len(ids) > most:
        ids = np.random.default_rng([seed, int(cls)]).choice(ids, size=most, replace=False)
    return np.sort(ids)


def _attributions(
    model: Any, description: dict[str, Any], method: str, x: Any, target: int, ig_steps: int
) -> np.ndarray:
    """float32[n, h, w]: each sample's map towards class index ``target``."""
    targets = np.full(len(x), target)
    if method == "gradcam":
        return gradcam_maps(model, "network." + explain_layer(description), x, targets)
    return integrated_gradients(model, x, targets, ig_steps)


def _grouping(clustering: str, most: int, neighbours: int, seed: int, side: int) -> Any:
    def group(maps: np.ndarray) -> Strategies:
        points = features(maps, side)
        if clustering == "hdbscan":
            return hdbscan_strategies(points, max_strategies=most, neighbours=neighbours)
        return spectral_strategies(points, max_strategies=most, neighbours=neighbours, seed=seed)

    return group


def _one_class(
    cls: Any,
    ids: np.ndarray,
    maps: np.ndarray,
    paths: np.ndarray,
    group: Any,
    permutations: int,
    seed: int,
) -> dict[str, Any]:
    """One class's strategies: members, per-strategy rows, eigenvalues, path cross-table."""
    found = group(maps)
    labels = found.labels
    rows = _strategy_rows(cls, labels, region_shares(maps), paths)
    agreement = path_agreement(labels, paths, permutations=permutations, seed=seed)
    summary = {
        "class": cls,
        "n": len(ids),
        "k": found.k,
        "paths": int(len(set(paths.tolist()))),
        **agreement,
    }
    return {
        "summary": summary,
        "strategies": pd.DataFrame(rows),
        "members": pd.DataFrame(
            {
                "class": cls,
                "sample_id": ids,
                "strategy": labels,
                "map_x": found.embedding[:, 0],
                "map_y": found.embedding[:, 1],
                "path": paths,
            }
        ),
        "eigenvalues": pd.DataFrame(
            {
                "class": cls,
                "index": np.arange(len(found.eigenvalues)),
                "eigenvalue": found.eigenvalues,
            }
        ),
        "maps": maps,
    }


def _check_by_masking(found: dict[str, Any], model: Any, x: Any, target: int, share: float) -> None:
    """Each strategy checked on the network: black out the ``share`` of pixels where its maps'
    positive evidence exceeds the class's other maps' the most, and measure the fall of the
    class's logit margin on its members and on the class's other explained samples
    (``masked_drop``, ``masked_drop_elsewhere``, and the 95 % interval of their difference:
    ``masked_gap_low``, ``masked_gap_high``)."""
    labels = found["members"]["strategy"].to_numpy()
    columns: dict[str, list[float]] = {k: [] for k in _MASK_COLUMNS}
    for strategy in found["strategies"]["strategy"]:
        mine = labels == strategy
        mask = top_pixels(_distinctive(found["maps"], mine), share)
        drops = masked_drop(model, x, target, mask)
        for key, value in zip(_MASK_COLUMNS, _difference(drops[mine], drops[~mine]), strict=True):
            columns[key].append(value)
    for key, values in columns.items():
        found["strategies"][key] = values


def _distinctive(maps: np.ndarray, mine: np.ndarray) -> np.ndarray:
    """Where a strategy's positive evidence exceeds the class's other maps' the most (its own
    mean's positive part when it is the class's only strategy)."""
    positive = np.clip(maps, 0, None)
    own = positive[mine].mean(0)
    return own - positive[~mine].mean(0) if (~mine).any() else own


_MASK_COLUMNS = ("masked_drop", "masked_drop_elsewhere", "masked_gap_low", "masked_gap_high")


def _difference(inside: np.ndarray, outside: np.ndarray) -> tuple[float, ...]:
    """Mean of each, and the 95 % interval of their difference (normal approximation; NaN
    without samples outside or with fewer than 2 on a side)."""
    nan = float("nan")
    if len(outside) < 2 or len(inside) < 2:
        return float(inside.mean()), float(outside.mean()) if len(outside) else nan, nan, nan
    gap = inside.mean() - outside.mean()
    half = 1.96 * np.sqrt(inside.var(ddof=1) / len(inside) + outside.var(ddof=1) / len(outside))
    return float(inside.mean()), float(outside.mean()), float(gap - half), float(gap + half)


def _strategy_rows(
    cls: Any, labels: np.ndarray, shares: np.ndarray, paths: np.ndarray
) -> list[dict[str, Any]]:
    """Per strategy: its size, where it attends more than the class's other maps, and the path
    most of its samples take (with the share of the class's other samples taking it)."""
    rows = []
    for strategy in sorted(set(labels.tolist())):
        inside = labels == strategy
        region, share, elsewhere = attended_region(shares[inside], shares[~inside])
        own = pd.Series(paths[inside]).value_counts()
        top = own.index[0]
        rows.append(
            {
                "class": cls,
                "strategy": int(strategy),
                "n": int(inside.sum()),
                "share": float(inside.mean()),
                "region": region,
                "region_share": share,
                "region_share_elsewhere": elsewhere,
                "path": top,
                "path_share": float(own.iloc[0] / inside.sum()),
                "path_share_elsewhere": float(np.mean(paths[~inside] == top))
                if (~inside).any()
                else float("nan"),
            }
        )
    return rows


def _outputs(found: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """The stage's tables and arrays; ``members.row`` and ``strategies.index`` index the
    ``maps`` and ``mean_maps`` arrays."""
    members = pd.concat([f["members"] for f in found], ignore_index=True)
    members.insert(0, "row", np.arange(len(members)))
    maps = np.concatenate([f["maps"] for f in found]).astype(np.float32)
    strategies = pd.concat([f["strategies"] for f in found], ignore_index=True)
    strategies.insert(0, "index", np.arange(len(strategies)))
    means = [
        maps[
            (members["class"] == r["class"]).to_numpy()
            & (members["strategy"] == r["strategy"]).to_numpy()
        ].mean(0)
        for _, r in strategies.iterrows()
    ]
    crosstab = members.groupby(["class", "strategy", "path"]).size().rename("n").reset_index()
    return {
        "classes": pd.DataFrame([f["summary"] for f in found]),
        "strategies": strategies,
        "members": members,
        "crosstab": crosstab,
        "eigenvalues": pd.concat([f["eigenvalues"] for f in found], ignore_index=True),
        "maps": maps,
        "mean_maps": np.stack(means).astype(np.float32),
        "settings": settings,
    }
