"""The README's open-set tables and verdicts from a benchmark's results.

    python tests/tools/openset_tables.py [STORE]     # STORE/openset/results.parquet

Prints (1) every method's mean AUROC over the splits, with the 95 % t-interval of the mean,
per protocol and network; (2) whether our default still leads: per protocol, ours minus each of
NAC, CombOOD and the best other method, paired over the split × network runs; and which method
a default chosen on Fashion-MNIST alone would be, and how it does elsewhere; (3) the novelty
flags' guarantee: the realised false discovery proportion of every run against its target (and
π0 · α, what Benjamini–Hochberg gives with exchangeable p-values), and the power it costs
against the unguaranteed threshold and the best threshold knowing the answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pathways.experiment.openset import mean_interval

NAMES = {"mnist": "MNIST 6/4", "fashion": "Fashion 6/4", "pairs": "pairs 2/8",
         "fashion-rgb": "Fashion RGB 6/4"}  # fmt: skip
NETS = {"mlp": "MLP", "lenet5": "LeNet-5", "cnn": "CNN", "resnet": "ResNet (user)"}


def _cell(values: pd.Series) -> str:
    mean, low, high = mean_interval(values, 0.0, 1.0)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]" if np.isfinite(low) else f"{mean:.3f}"


def auroc_table(results: pd.DataFrame) -> str:
    columns = list(results.groupby(["protocol", "model"], sort=False).groups)
    ours = results.loc[results["kind"] == "ours", "method"].iloc[0]
    order = (
        results[results["kind"] != "oracle"]
        .groupby("method")["auroc"]
        .mean()
        .sort_values(ascending=False)
    )
    methods = [ours, *[m for m in order.index if m != ours]]
    methods += sorted(set(results.loc[results["kind"] == "oracle", "method"]))
    methods = [m for m in methods if not (":" in m and not m.endswith("best-layer"))]
    head = " | ".join(f"{NAMES.get(p, p)}, {NETS.get(m, m)}" for p, m in columns)
    lines = [f"| method | {head} |", "|---|" + "---|" * len(columns)]
    for method in methods:
        rows = results[results["method"] == method]
        kind = rows["kind"].iloc[0]
        cells = []
        for p, m in columns:
            here = results[
                (results.protocol == p) & (results.model == m) & (results.kind != "oracle")
            ]
            best = here.groupby("method")["auroc"].mean().idxmax()
            mine = rows[(rows.protocol == p) & (rows.model == m)]["auroc"]
            cell = _cell(mine) if len(mine) else "–"
            cells.append(f"**{cell}**" if method == best else cell)
        label = f"**{method}** ({kind})" if kind == "ours" else f"{method} ({kind})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _paired(results: pd.DataFrame, ours: str, other: str) -> str:
    wide = results.pivot_table(index=["model", "split"], columns="method", values="auroc")
    d = (wide[ours] - wide[other]).dropna()
    mean, low, high = mean_interval(d)
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] ({len(d)} runs)"


def lead(results: pd.DataFrame) -> str:
    ours = results.loc[results["kind"] == "ours", "method"].iloc[0]
    methods = results[results["kind"].isin(["baseline", "variant"])]
    methods = methods[~methods["method"].str.contains(":")]
    lines = []
    for protocol, part in results.groupby("protocol", sort=False):
        means = part[part.method.isin(methods.method.unique())].groupby("method")["auroc"].mean()
        best = means.drop(ours, errors="ignore").idxmax()
        found = [f"ours {part[part.method == ours].auroc.mean():.3f}"]
        for other in dict.fromkeys(["nac", "combood", best]):
            found.append(f"− {other} ({means[other]:.3f}) = {_paired(part, ours, other)}")
        lines.append(f"- {NAMES.get(protocol, protocol)}: " + "; ".join(found))
    candidates = [ours, *methods.method.unique()]
    fashion = results[(results.protocol == "fashion") & results.method.isin(candidates)]
    if not fashion.empty:
        means = fashion.groupby("method")["auroc"].mean().sort_values(ascending=False)
        chosen = means.index[0]
        runners = ", ".join(f"{m} {v:.3f}" for m, v in means.iloc[:4].items())
        lines.append(
            f"- a default chosen on Fashion alone (highest mean over its networks, every "
            f"method a candidate): `{chosen}` ({runners})"
        )
        for protocol, part in results.groupby("protocol", sort=False):
            if protocol != "fashion" and chosen != ours:
                lines.append(
                    f"  - on {NAMES.get(protocol, protocol)}: ours − {chosen} = "
                    f"{_paired(part, ours, chosen)}"
                )
    return "\n".join(lines)


def guarantee(results: pd.DataFrame) -> str:
    runs = results[results["fdp"].notna()].copy()
    runs["pi0_alpha"] = (1 - runs["novel"] / runs["screened"]) * runs["alpha"]
    lines = [
        "| method | runs | mean realised FDR [95 % CI] | π0·α | mean power | p ≤ α: FDR, power | best power |",
        "|---|---|---|---|---|---|---|",
    ]
    ours = runs.loc[runs["kind"] == "ours", "method"].iloc[0]
    chosen = [ours, "nac", "combood", "knn", "vim", "msp"]
    for method in chosen:
        mine = runs[runs.method == method]
        mean, low, high = mean_interval(mine["fdp"], 0.0, 1.0)
        lines.append(
            f"| {method} | {len(mine)} | {mean:.3f} [{low:.3f}, {high:.3f}] | "
            f"{mine['pi0_alpha'].mean():.3f} | {mine['power'].mean():.3f} | "
            f"{mine['uncorrected_fdp'].mean():.3f}, {mine['uncorrected_power'].mean():.3f} | "
            f"{mine['oracle_power'].mean():.3f} |"
        )
    every = runs[~runs["method"].str.endswith("best-layer")]
    above = every.groupby("method")["fdp"].mean()
    lines.append("")
    lines.append(
        f"Every score, every run ({len(every)} decisions): mean realised FDR "
        f"{every['fdp'].mean():.3f}; the highest mean of one score {above.max():.3f} "
        f"(`{above.idxmax()}`); runs whose FDR exceeded the target: "
        f"{(every['fdp'] > every['alpha']).mean():.1%}."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", nargs="?", type=Path, default=Path("data/store"))
    args = parser.parse_args(argv)
    path = args.store / "openset" / "results.parquet"
    if not path.is_file():
        print(f"error: no {path} — run `pathways benchmark openset` first", file=sys.stderr)
        return 2
    results = pd.read_parquet(path)
    if "fdp" not in results:
        print(
            f"error: {path} predates the novelty flags — run the benchmark again", file=sys.stderr
        )
        return 2
    print("## Mean AUROC [95 % CI of the mean over the splits]\n")
    print(auroc_table(results))
    print("\n## Does the default lead? (paired over split × network runs)\n")
    print(lead(results))
    print("\n## The flags' guarantee\n")
    print(guarantee(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
