"""torch's set-up: its CPU thread count, oneDNN off, and whether a CUDA device is there.

Measured on the 2-core machines this project targets (tests/benchmarks/bench_threads.py,
figures in the README): with another process busy on the machine, torch at 2 threads and the
default OpenMP wait policy slows by an order of magnitude, because its spinning threads fight
the other process for both cores. ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep instead of spin)
removes most of that collapse. pathways therefore sets PASSIVE before torch is imported and
uses 1 thread unless told otherwise (``--threads`` or ``PATHWAYS_THREADS``).
"""

from __future__ import annotations

import os
import sys

DEFAULT_THREADS = 1


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op thread count (default ``PATHWAYS_THREADS`` or 1) and return it.

    Call it before the first torch computation. If torch is not imported yet, OpenMP threads
    are also told to sleep when idle (``OMP_WAIT_POLICY=PASSIVE``) unless the user chose a policy.
    """
    if threads is None:
        env = os.environ.get("PATHWAYS_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else DEFAULT_THREADS
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(threads)
    # oneDNN's CPU convolutions round differently depending on what ran before in the process
    # (a LeNet-5 trained after other steps differed from one trained alone by ~1e-8 per weight,
    # then more downstream); PyTorch's own kernels are bit-reproducible and cost ~5 % here.
    torch.backends.mkldnn.enabled = False
    return threads


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (imports torch)."""
    import torch

    return torch.cuda.is_available()
