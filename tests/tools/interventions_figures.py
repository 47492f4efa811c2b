"""The interventions stage's figures over the open-set benchmark's splits (README, "Interventions").

Each split of a protocol (default ``pairs``: two known digits, eight unknown) is the ordinary
experiment ``pathways benchmark openset`` runs, here run up to its interventions steps (cached
and resumable in the same store). Per model, over the splits:

- question 2 (ablation): in how many (class, layer) cases the signature's units lower the logit
  margin more than as many random units, and more than layer Integrated Gradients' units (both
  judged by the paired interval of the difference at the largest k), and how often any ranking
  breaks the class (accuracy to half) within 25 % of the layer;
- question 1 (patching): per layer, the mean over splits of the median transfer share (the pair's
  most different units first, and in random order) with a 95 % t-interval; the causal layer
  beside the probe/purity layer, and in how many splits they agree;
- question 3 (routes): for the unknown classes, the smallest median share of the way onto a
  trained class's route that changes the call (mean over splits, t-interval), the layer where it
  is smallest, how often that layer is clear of the others, and what random moves as long do.

Run: python tests/tools/interventions_figures.py [--protocol pairs] [--splits 5] [--store DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

from pathways.experiment.openset import mean_interval as _mean_interval

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[2]
MODELS = ["mlp", "lenet5"]


def run_split(protocol: str, split: int, store: Path, data_dir: Path) -> Path:
    """The split's experiment run up to its interventions steps; its run folder."""
    from pathways.engine.steps import step_id
    from pathways.experiment.config import parse_experiment
    from pathways.experiment.openset import PROTOCOLS, experiment
    from pathways.nets.threads import configure_threads
    from pathways.stages.plan import build_plan, runner_for

    configure_threads(1)
    p = PROTOCOLS[protocol]
    config = experiment(p, split, MODELS, 5, p.samples_per_class, 1000)
    exp = parse_experiment(config, f"open-set protocol {protocol}, split {split}")
    runner = runner_for(exp, store)
    wanted = [step_id("interventions", m) for m in MODELS]
    runner.run(build_plan(exp, data_dir=data_dir), only=wanted)
    return runner.run_dir


def mean_interval(values: np.ndarray) -> str:
    """Mean with a 95 % t-interval over the splits ("0.26 [0.21, 0.31]")."""
    mean, low, high = _mean_interval(values)
    if not np.isfinite(mean):
        return "—"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]" if np.isfinite(low) else f"{mean:.2f}"


def ablation(runs: dict[int, Path], model: str) -> list[str]:
    tables = [
        pd.read_parquet(run / "interventions" / model / "ablation_summary.parquet")
        for run in runs.values()
    ]
    table = pd.concat(tables, ignore_index=True)
    ig_wins = (table["extra_margin_drop_vs_attribution_high"] < 0).sum()
    breaks = {
        r: int(table[f"break_{r}"].notna().sum()) for r in ("signature", "random", "attribution")
    }
    per_layer = table.groupby("layer", sort=False)["beats_random"].agg(["sum", "count"])
    return [
        f"- ablation: signature beats random units in {int(table['beats_random'].sum())} of "
        f"{len(table)} (class, layer) cases (per layer: "
        + ", ".join(
            f"{layer} {int(r['sum'])}/{int(r['count'])}" for layer, r in per_layer.iterrows()
        )
        + f"); beats layer-IG units in {int(table['beats_attribution'].sum())}; IG units beat the "
        f"signature's in {int(ig_wins)}. Accuracy halved within the grid: signature "
        f"{breaks['signature']}, random {breaks['random']}, IG {breaks['attribution']} cases.",
    ]


def patching(runs: dict[int, Path], model: str) -> list[str]:
    tables = [
        pd.read_parquet(run / "interventions" / model / "patching_summary.parquet").assign(split=i)
        for i, run in runs.items()
    ]
    table = pd.concat(tables, ignore_index=True)
    layers = list(dict.fromkeys(table["layer"]))
    cells = []
    for layer in layers:
        part = table[table["layer"] == layer]
        top = mean_interval(part["top_share"].to_numpy(dtype=float))
        random = mean_interval(part["random_share"].to_numpy(dtype=float))
        cells.append(f"{layer} {top} vs random {random}")
    per_split = table.drop_duplicates("split")
    answers = [f"{r.causal_layer} / {r.probe_layer}" for r in per_split.itertuples()]
    return [
        "- patching, median share of units patched before the call follows (mean over splits): "
        + "; ".join(cells),
        f"- causal / probe layer per split: {', '.join(answers)}; agree in "
        f"{int(per_split['agree'].sum())} of {len(per_split)}",
    ]


def routes(runs: dict[int, Path], model: str) -> list[str]:
    smallest, clear, random, layers, cases = [], 0, [], [], 0
    for run in runs.values():
        table = pd.read_parquet(run / "interventions" / model / "route_summary.parquet")
        unseen = table[table["group"] == "unseen"]
        best = []
        for _, part in unseen.groupby(["label", "target"]):
            known = part.dropna(subset=["switch_fraction"])
            cases += 1
            if len(known):
                best.append(known["switch_fraction"].min())
                layers.append(part["deciding_layer"].iloc[0])
                clear += bool(part["deciding_clear"].iloc[0])
        smallest.append(np.median(best) if best else np.nan)
        random.append(unseen["random_moved"].mean())
    counts = pd.Series(layers).value_counts()
    return [
        f"- routes (unknown classes): smallest share of the way that switches the median sample "
        f"{mean_interval(np.array(smallest))} (median over (class, target), mean over splits); "
        f"random moves as long switch {mean_interval(np.array(random))}; smallest at "
        + ", ".join(f"{layer} {n}" for layer, n in counts.items())
        + f" of {cases} (class, target) cases; clear of every other layer in {clear}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", default="pairs")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--store", type=Path, default=REPO / "data" / "store")
    args = parser.parse_args()
    data_dir = args.store.parent
    runs = {i: run_split(args.protocol, i, args.store, data_dir) for i in range(args.splits)}
    for model in MODELS:
        print(f"\n{args.protocol}, {model}, {len(runs)} splits")
        for line in ablation(runs, model) + patching(runs, model) + routes(runs, model):
            print(line)


if __name__ == "__main__":
    main()
