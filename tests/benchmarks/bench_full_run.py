"""The full 70,000-image experiment (pipelines/fashion-full.toml), local executor vs Dask.

Both runs start from an empty store (the digits cache is shared), in fresh processes, one after
the other, and run every step: MLP and LeNet-5 trained on trouser vs sneaker, all 70,000 images
captured, clustered, embedded, scored, explained. Prints each wall time and the ratio.
Needs Debian's dataset-fashion-mnist. Takes about 16 minutes on 2 cores.

Run: python tests/benchmarks/bench_full_run.py [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import FASHION_MNIST, REPO


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if not FASHION_MNIST.is_dir():
        raise SystemExit(
            "needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
        )
    work = Path(tempfile.mkdtemp())
    config = REPO / "pipelines" / "fashion-full.toml"
    env = {**os.environ, "PATHWAYS_DATA": str(work / "data"), "OMP_WAIT_POLICY": "PASSIVE"}
    seconds = {}
    for name, extra in (
        ("local", []),
        (f"dask ({args.workers} workers)", ["--executor", "dask", "--workers", str(args.workers)]),
    ):
        store = work / name.split()[0]
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pathways.cli",
                "run",
                str(config),
                "--store",
                str(store),
                *extra,
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        seconds[name] = time.perf_counter() - start
        print(f"{name:18} {seconds[name]:7.1f} s", flush=True)
    local, dask = seconds.values()
    print(f"local / dask: {local / dask:.2f}×  (one run each)")


if __name__ == "__main__":
    main()
