"""Where a plan's steps run: here, one after the other, or on a Dask cluster.

The runner decides *what* runs (keys, caching, the lock on the run folder); an executor
decides *where*. :class:`DaskExecutor` submits each step as one task whose dependencies are the
tasks of its upstream steps, so independent steps — the models' analyses, the extra training
seeds, explain and rotation — run at the same time on the cluster's workers. Every worker
writes its step's outputs into the run folder exactly as a local run does (temporary folder,
then rename), so the workers must share that folder's file system: true for a
``LocalCluster``, and for a multi-machine cluster with the store on shared storage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pathways.named import load_named
from pathways.progress import Progress, Silent

if TYPE_CHECKING:  # the runner uses executors; executors know it only by type
    from pathways.execution import Runner
    from pathways.planning import Step, StepStatus


class Executor(Protocol):
    """Where the steps a run must execute run. ``run`` executes every status whose action is
    ``"run"`` (upstream first: ``statuses`` are in plan order), with ``runner.run_step``, and
    sets each one's ``seconds``; a step's error is raised from ``run``."""

    name: str

    def run(
        self,
        runner: Runner,
        statuses: list[StepStatus],
        keys: Mapping[str, str],
        progress: Progress,
    ) -> None: ...


class LocalExecutor:
    """Runs the steps in this process, upstream first."""

    name = "local"

    def run(
        self,
        runner: Runner,
        statuses: list[StepStatus],
        keys: Mapping[str, str],
        progress: Progress,
    ) -> None:
        for status in statuses:
            if status.action == "run":
                start = time.perf_counter()
                runner.run_step(status.step, keys, progress)
                status.seconds = time.perf_counter() - start


def _run_on_worker(
    runner: Runner, step: Step, keys: Mapping[str, str], setup: str, threads: int, *_upstream: Any
) -> float:
    load_named(setup)(threads)
    start = time.perf_counter()
    runner.run_step(step, keys, Silent())
    return time.perf_counter() - start


class DaskExecutor:
    """Runs the steps as tasks on a Dask cluster: the one at ``scheduler`` (``tcp://host:8786``)
    or, without one, a ``LocalCluster`` of ``workers`` single-threaded processes."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int = 2,
        threads: int = 1,
        setup: str = "pathways.threads:configure_threads",
    ) -> None:
        """``setup(threads)`` runs on the worker before each step: torch's thread count and
        oneDNN off, named as ``"module:function"`` and imported there (this module imports no
        torch)."""
        self.scheduler = scheduler
        self.workers = workers
        self.threads = threads
        self.setup = setup

    def run(
        self,
        runner: Runner,
        statuses: list[StepStatus],
        keys: Mapping[str, str],
        progress: Progress,
    ) -> None:
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        if self.scheduler:
            client = Client(self.scheduler, timeout="30s")
        else:
            cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OMP_WAIT_POLICY": "PASSIVE"},
            )
            client = Client(cluster)
        try:
            futures, by_id = {}, {}
            for status in statuses:
                if status.action != "run":
                    continue
                step = status.step
                upstream = [futures[s] for s in step.upstream.values() if s in futures]
                futures[step.id] = client.submit(
                    _run_on_worker,
                    runner,
                    step,
                    dict(keys),
                    self.setup,
                    self.threads,
                    *upstream,
                    key=f"{step.id}-{keys[step.id]}",
                    pure=False,
                )
                by_id[futures[step.id].key] = status
            for future in as_completed(list(futures.values())):
                status = by_id[future.key]
                status.seconds = future.result()  # re-raises the step's error here
                progress.log(f"{status.step.id}: done on the cluster in {status.seconds:.1f} s")
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
