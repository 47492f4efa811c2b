"""numba's compiled code on disk (pathways.analysis.compiled): the first 2-D map of a process,
cold (an empty cache folder) and in a second process (the folder filled by the first), against
the library's own caching alone (``PATHWAYS_NUMBA_CACHE=0``, every process compiles).

Each measurement is a fresh process mapping the same 20,000 × 50 seeded matrix twice with
``pathways.analysis.embed.embed_2d``: the first map pays the compilation, the second is the
steady state. Prints both, and the first map's extra seconds (first − second) side by side.

Run: python tests/benchmarks/bench_numba_cache.py [--samples 20000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO

PROBE = """
import json, sys, time
import numpy as np
from pathways.analysis.embed import embed_2d
x = np.random.default_rng(0).normal(size=(int(sys.argv[1]), 50)).astype(np.float32)
times = []
for _ in range(2):
    start = time.perf_counter()
    xy = embed_2d(x, seed=0)
    times.append(time.perf_counter() - start)
    assert xy.shape == (len(x), 2) and np.isfinite(xy).all()
print(json.dumps(times))
"""


def _first_and_second(samples: int, cache: Path, enabled: bool) -> list[float]:
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(cache),
        "PATHWAYS_NUMBA_CACHE": "1" if enabled else "0",
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(samples)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"the probe failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for repeat in range(args.repeats):
        ours = Path(tempfile.mkdtemp())
        plain = Path(tempfile.mkdtemp())
        rows.append(("library caching only", repeat, _first_and_second(args.samples, plain, False)))
        rows.append(
            ("ours, cold (empty folder)", repeat, _first_and_second(args.samples, ours, True))
        )
        rows.append(("ours, second process", repeat, _first_and_second(args.samples, ours, True)))
        files = list(ours.rglob("*.nbi"))
        if not files:
            raise SystemExit(f"nothing was cached in {ours}: the cache did not work")
        print(f"repeat {repeat}: {len(files)} cached functions in {ours}", flush=True)
    print(f"\n{'process':28}{'repeat':>8}{'first map':>12}{'second':>10}{'compile':>10}")
    for name, repeat, (first, second) in rows:
        print(f"{name:28}{repeat:>8}{first:12.1f}{second:10.1f}{first - second:10.1f}")


if __name__ == "__main__":
    main()
