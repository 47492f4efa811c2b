"""Does a change leave an experiment's outputs as they were? The previous version against this one.

    python tests/tools/same_outputs.py [--base REV] [EXPERIMENT]

Runs EXPERIMENT (default: the packaged default) twice, each in a fresh process from an empty
store: once with the code of ``--base`` (a git worktree, run with this environment) and once
with this checkout, with the same executor settings; then compares the two runs file by file
(``compare_runs.py``: Parquet by content and schema, arrays exactly, JSON by value, every step
key). Prints the differences and exits 1 when there are any. Used to show that a restructuring
changed no result.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "benchmarks")]

from compare_runs import main as compare  # noqa: E402

from _common import REPO, pathways_command, run_loudly, worktree  # noqa: E402


def _run(code: Path, experiment: str, store: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(code), "OMP_WAIT_POLICY": "PASSIVE"}
    command = pathways_command(
        "run", experiment, "--store", str(store), "--data-dir", str(REPO / "data")
    )
    run_loudly(command, cwd=code, env=env)
    (run,) = (p for p in store.iterdir() if p.is_dir())  # the store holds this one run
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", default="default")
    parser.add_argument("--base", default="HEAD~1", help="the previous version (a git revision)")
    args = parser.parse_args()
    experiment = (
        str(Path(args.experiment).resolve())
        if args.experiment.endswith(".toml")
        else args.experiment
    )
    with tempfile.TemporaryDirectory() as tmp, worktree(args.base) as base:
        before = _run(base, experiment, Path(tmp) / "before")
        after = _run(REPO, experiment, Path(tmp) / "after")
        print(f"{args.base} vs this checkout, experiment {args.experiment}:")
        return compare(before, after)


if __name__ == "__main__":
    sys.exit(main())
