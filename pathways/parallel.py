"""Per-layer work of one step, spread over the machine's cores or a Dask cluster.

A step's stage function calls :func:`map_items` for work that is independent per layer
(class signatures, clustering, 2-D maps). Inside a task of
:class:`pathways.executors.DaskExecutor` the items become tasks of their own on the cluster
(the step's task leaves the worker's thread pool while it waits, so it blocks no worker). In
a local run they go to a pool of :func:`local_workers` processes (``pathways run --workers``;
1 = here, in order), started once per run and kept for its later steps; each worker limits its
BLAS/OpenMP pools to one thread, so the workers share the cores instead of fighting over them. Each item's result depends only on its inputs and
seeds, so every way gives the same outputs.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from pathways.errors import PathwaysError

_local: dict[str, Any] = {"workers": 1, "warm_up": None}
_pool: dict[int, ProcessPoolExecutor] = {}


def set_local_workers(workers: int, warm_up: str | None = None) -> None:
    """Processes that per-layer work of a local run spreads over (1: none, work runs here);
    ``warm_up``: ``"module:function"`` each worker runs as it starts (numba compilation)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    _local.update(workers=workers, warm_up=warm_up)


def start_local_workers() -> None:
    """Start the local worker processes now (they warm up while this process works on)."""
    if local_workers() > 1:
        pool = _local_pool(local_workers())
        for _ in range(local_workers()):
            pool.submit(os.getpid)


def local_workers() -> int:
    """The processes per-layer work of a local run spreads over (see :func:`set_local_workers`)."""
    return _local["workers"]


def _start_worker(warm_up: str | None) -> None:
    from threadpoolctl import threadpool_limits

    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(1)
    if warm_up:
        from pathways.named import load_named

        load_named(warm_up)()


def _local_pool(workers: int) -> ProcessPoolExecutor:
    if workers not in _pool:
        import multiprocessing

        for pool in _pool.values():
            pool.shutdown()
        _pool.clear()
        # forkserver: no torch or OpenMP state is forked; spawn where there is none (Windows)
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        _pool[workers] = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(_local["warm_up"],),
        )
        atexit.register(_stop, _pool[workers])
    return _pool[workers]


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the workers at exit without waiting for one still compiling (its warm-up)."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public way before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def on_cluster() -> bool:
    """Whether this code runs inside a Dask task."""
    try:
        from distributed import get_worker
    except ImportError:
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True


def map_items(
    func: Callable[[Any], Any], items: Iterable[Any], done: Callable[[], Any] = lambda: None
) -> list[Any]:
    """``[func(item) for item in items]``: on the cluster when running inside a Dask task, else
    over the local worker processes; ``done()`` is called as each item finishes (progress).
    ``func`` and the items must pickle (a module-level function or a ``functools.partial``)."""
    items = list(items)
    if len(items) < 2 or (not on_cluster() and local_workers() == 1):
        results = []
        for item in items:
            results.append(func(item))
            done()
        return results
    if not on_cluster():
        from concurrent.futures import as_completed as finished
        from concurrent.futures.process import BrokenProcessPool

        futures = [_local_pool(local_workers()).submit(func, item) for item in items]
        try:
            for _ in finished(futures):
                done()
            return [future.result() for future in futures]
        except BrokenProcessPool:
            _pool.clear()
            raise PathwaysError(
                "a worker process died (out of memory?) — run again with --workers 1"
            ) from None
    from distributed import as_completed, worker_client

    with worker_client() as client:
        futures = client.map(func, items, pure=False)
        for _ in as_completed(futures):
            done()
        return client.gather(futures)
