"""Per-layer work of one step, spread over a Dask cluster when the step runs on one.

A step's stage function calls :func:`map_items` for work that is independent per layer
(class signatures, clustering, 2-D maps). Inside a task of
:class:`pathways.engine.executors.DaskExecutor` the items become tasks of their own on the cluster
(the step's task leaves the worker's thread pool while it waits, so it blocks no worker);
anywhere else they run here, in order — a local run on several processes
(:class:`pathways.engine.executors.ProcessExecutor`) keeps its cores busy with whole steps instead.
Each item's result depends only on its inputs and seeds, so every way gives the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_spreading = {"items": True}


def spread_items(enabled: bool) -> None:
    """Whether :func:`map_items` (and a capture's shards) become tasks of their own when this
    process runs a step on a Dask cluster (:class:`pathways.engine.executors.DaskExecutor` sets it
    on its workers before each step)."""
    _spreading["items"] = enabled


def spreading() -> bool:
    """Whether this code runs inside a Dask task whose items may spread over the cluster."""
    return _spreading["items"] and on_cluster()


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
    """``[func(item) for item in items]``, on the cluster when running inside a Dask task that
    spreads its items (:func:`spread_items`);
    ``done()`` is called as each item finishes (progress). On a cluster, ``func`` and the
    items must pickle (a module-level function or a ``functools.partial``)."""
    items = list(items)
    if len(items) < 2 or not spreading():
        results = []
        for item in items:
            results.append(func(item))
            done()
        return results
    from distributed import as_completed, worker_client

    with worker_client() as client:
        futures = client.map(func, items, pure=False)
        for _ in as_completed(futures):
            done()
        return client.gather(futures)
