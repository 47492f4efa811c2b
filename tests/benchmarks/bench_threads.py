"""torch thread count on a 2-core machine, idle and with another process busy.

Each configuration trains LeNet-5 on 800 real digits for 2 epochs in a fresh process (the
OpenMP wait policy is read when torch loads). "busy" runs two CPU-bound processes beside it
(one per core), as a second pipeline, a test run or a browser would. Ratios are against 1 thread, idle.

Run: python tests/benchmarks/bench_threads.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap

from _common import REPO, median

WORKLOAD = textwrap.dedent(
    """
    import sys, time, torch
    sys.path.insert(0, %r)
    from _common import mnist_images
    from pathways.data.subsets import ImageFormat
    from pathways.nets.inputs import model_inputs
    from pathways.nets.models import LeNet5
    from pathways.nets.training import seeded, train_classifier
    torch.set_num_threads(int(sys.argv[1]))
    images, labels = mnist_images()
    rows = [i for i, l in enumerate(labels) if l in (1, 7)][:800]
    x = model_inputs(images[rows], "image32", ImageFormat((28, 28)))
    y = torch.tensor([int(labels[i] == 7) for i in rows])
    with seeded(0):
        model = LeNet5(2)
    start = time.perf_counter()
    train_classifier(model, x, y, x[:100], y[:100], classes=[1, 7], epochs=2, batch_size=64,
                     learning_rate=1e-3, seed=0)
    print(time.perf_counter() - start)
    """
)


def run(threads: int, policy: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    code = WORKLOAD % str(REPO / "tests" / "benchmarks")
    out = subprocess.run(
        [sys.executable, "-c", code, str(threads)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configs = [(t, p) for t in (1, 2) for p in (None, "PASSIVE")]
    results: dict[tuple, list[float]] = {}
    for busy in (False, True):
        # "busy": both cores taken by other CPU-bound work (e.g. a second job and a browser).
        burners = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(2 if busy else 0)
        ]
        try:
            for _ in range(args.repeats):
                for threads, policy in configs:
                    results.setdefault((busy, threads, policy), []).append(run(threads, policy))
        finally:
            for burner in burners:
                burner.kill()
    base = median(results[(False, 1, None)])
    print(
        f"LeNet-5, 2 epochs on 800 digits; median of {args.repeats} runs per row; ratio vs 1 thread idle"
    )
    print(f"{'machine':8} {'threads':>7} {'OMP_WAIT_POLICY':>16} {'seconds':>8} {'ratio':>6}")
    for (busy, threads, policy), times in results.items():
        m = median(times)
        print(
            f"{'busy' if busy else 'idle':8} {threads:7d} {policy or '(default)':>16} {m:8.2f} {m / base:6.2f}"
        )


if __name__ == "__main__":
    main()
