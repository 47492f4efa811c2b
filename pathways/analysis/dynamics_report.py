"""The report's "During training" part: when the answers formed, from the dynamics step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from pathways.analysis.dynamics import (
    SETTLED_CKA,
    called_as_from,
    parting_epoch,
    settled_epoch,
)
from pathways.analysis.novelty_scores import ours_method


def during_training(
    dynamics: Mapping[str, Any], trained: list[int], unseen: list[int]
) -> dict[str, Any]:
    """When each trained pair parts, when each layer settles, what each unseen class is called
    from when, and the novelty AUROC of our score and of the best baseline at every snapshot."""
    divergence, layers = dynamics["divergence"], dynamics["layers"]
    predictions, novelty = dynamics["predictions"], dynamics["novelty"]
    epochs = sorted(int(e) for e in layers["epoch"].unique())
    pairs = []
    for i, a in enumerate(trained):
        for b in trained[i + 1 :]:
            pairs.append({"class_a": a, "class_b": b, "parts": parting_epoch(divergence, a, b)})
    settled = settled_epoch(layers)
    order = layers.drop_duplicates("layer").sort_values("depth")["layer"].tolist()
    return {
        "epochs": epochs,
        "n_samples": int(len(dynamics["samples"])),
        "pairs": pairs,
        "settled": {layer: settled[layer] for layer in order},
        "unseen": [{"class": u, "called": called_as_from(predictions, u)} for u in unseen],
        "novelty": _novelty_by_epoch(novelty),
    }


def _novelty_by_epoch(novelty: pd.DataFrame) -> dict[str, Any] | None:
    if novelty.empty:
        return None
    last = novelty[novelty["epoch"] == novelty["epoch"].max()]
    ours = ours_method(last)
    baselines = last[(last["kind"] == "baseline") & ~last["method"].str.contains(":")]
    best = str(baselines.loc[baselines["auroc"].idxmax(), "method"]) if len(baselines) else None
    table = novelty.pivot_table(index="epoch", columns="method", values="auroc")
    return {
        "ours": ours,
        "best_baseline": best,
        "by_epoch": {
            int(e): {m: float(table.loc[e, m]) for m in (ours, best) if m is not None}
            for e in table.index
        },
    }


def _settling(settled: dict[str, int | None]) -> list[str]:
    """Which hidden layers settle first and last (CKA with the final network ≥ 0.9)."""
    hidden = {layer: e for layer, e in settled.items() if layer != "logit"}
    never = [layer for layer, e in hidden.items() if e is None]
    if never:
        return [
            f"- Not settled by the last snapshot: {', '.join(f'`{x}`' for x in never)} (CKA "
            f"with the final network below {SETTLED_CKA:g})."
        ]
    if not hidden:
        return []
    first, last = min(hidden.values()), max(hidden.values())
    if first == last:
        return [
            f"- Every hidden layer settles at epoch {first} (CKA with the final network ≥ "
            f"{SETTLED_CKA:g} from then on)."
        ]
    early = ", ".join(f"`{x}`" for x, e in hidden.items() if e == first)
    late = ", ".join(f"`{x}`" for x, e in hidden.items() if e == last)
    return [
        f"- {late} settle{'s' if ',' not in late else ''} last (CKA with the final network ≥ "
        f"{SETTLED_CKA:g} from epoch {last}); {early} first (epoch {first})."
    ]


def markdown_during_training(d: dict[str, Any], name: Any) -> list[str]:
    epochs = ", ".join(map(str, d["epochs"]))
    lines = [
        "### During training",
        "",
        f"Snapshots at epochs {epochs} (0 = untrained), each measured on the same "
        f"{d['n_samples']} samples.",
        "",
    ]
    for p in d["pairs"]:
        pair = f"{name(p['class_a'])} and {name(p['class_b'])}"
        parts = p["parts"]
        if parts is None:
            lines.append(f"- {pair} have not parted for good by the last snapshot.")
        elif parts["layer"] == parts["final_layer"]:
            lines.append(f"- {pair} part at `{parts['layer']}` from epoch {parts['epoch']} on.")
        else:
            lines.append(
                f"- {pair} have parted from epoch {parts['epoch']} on (at `{parts['layer']}` "
                f"then); at `{parts['final_layer']}`, the final divergence layer, from epoch "
                f"{parts['final_from']} on."
            )
    lines += _settling(d["settled"])
    for u in d["unseen"]:
        c = u["called"]
        if c is not None:
            lines.append(
                f"- The {name(u['class'])}s are called {name(c['predicted_class'])} from epoch "
                f"{c['epoch']} on ({100 * c['share']:.0f} % at the last snapshot)."
            )
    if d["novelty"]:
        n = d["novelty"]
        steps = "; ".join(
            f"{e}: {v[n['ours']]:.3f}"
            + (f" vs {v[n['best_baseline']]:.3f}" if n["best_baseline"] in v else "")
            for e, v in n["by_epoch"].items()
        )
        lines.append(
            f"- Novelty AUROC by epoch, ours (`{n['ours']}`) vs the best baseline at the end "
            f"(`{n['best_baseline']}`): {steps}."
        )
    lines.append("")
    return lines
