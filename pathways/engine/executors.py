"""Where a plan's steps run: here, one after the other; on local worker processes, several at
once; or on a Dask cluster.

The runner decides *what* runs (keys, caching, the lock on the run folder); an executor
decides *where*. :class:`ProcessExecutor` (``pathways run --workers N``) runs the steps on N
processes of this machine, :class:`DaskExecutor` on a cluster's workers; both hand them out as
:func:`schedule` says, each step as soon as its upstream steps are done, so independent steps —
the models' analyses, the extra training seeds, explain and rotation — run at the same time. Every worker
writes its step's outputs into the run folder exactly as a local run does (temporary folder,
then rename), so the workers must share that folder's file system: true for a
``LocalCluster``, and for a multi-machine cluster with the store on shared storage.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from pathways.engine.progress import Progress, Silent
from pathways.errors import PathwaysError
from pathways.registry import load_named

if TYPE_CHECKING:
    from pathways.engine.steps import Step, StepStatus

RunStep = Callable[["Step", Mapping[str, str], Progress], None]
"""What runs one step whose upstream outputs are in place (the runner's ``run_step``: a
picklable bound method, so worker processes and Dask workers can call it)."""


Finished = Callable[["StepStatus"], None]
"""Called in the run's own process as each step finishes (the runner records it, so an
explorer sees the answers while the maps are still being made)."""


class Executor(Protocol):
    """Where the steps a run must execute run. ``run`` executes every status whose action is
    ``"run"`` (upstream first: ``statuses`` are in plan order; deferred steps after the rest,
    :func:`run_order`), with ``run_step``, sets each one's ``seconds`` and calls ``finished``
    with it; a step's error is raised from ``run``."""

    name: str

    def run(
        self,
        run_step: RunStep,
        statuses: list[StepStatus],
        keys: Mapping[str, str],
        progress: Progress,
        finished: Finished | None = None,
    ) -> None: ...


def held_back(statuses: list[StepStatus]) -> set[str]:
    """The steps to run that wait for the rest: those of a deferred stage and every step
    downstream of one (whatever reads a map waits for it anyway)."""
    held: set[str] = set()
    for status in statuses:  # plan order: upstream first
        step = status.step
        if status.action == "run" and (
            step.stage.deferred or not held.isdisjoint(step.upstream.values())
        ):
            held.add(step.id)
    return held


def run_order(statuses: list[StepStatus]) -> list[StepStatus]:
    """The statuses to run in the order one process runs them: plan order, except that the
    held-back steps (:func:`held_back`) come after all the others: the answers first."""
    held = held_back(statuses)
    to_run = [s for s in statuses if s.action == "run"]
    return [s for s in to_run if s.step.id not in held] + [s for s in to_run if s.step.id in held]


class LocalExecutor:
    """Runs the steps in this process, upstream first, deferred steps last (:func:`run_order`)."""

    name = "local"

    def run(
        self,
        run_step: RunStep,
        statuses: list[StepStatus],
        keys: Mapping[str, str],
        progress: Progress,
        finished: Finished | None = None,
    ) -> None:
        for status in run_order(statuses):
            status.seconds = _timed_step(run_step, status.step, keys, progress)
            if finished is not None:
                finished(status)


def _timed_step(
    run_step: RunStep, step: Step, keys: Mapping[str, str], progress: Progress
) -> float:
    """Run one step; its seconds."""
    start = time.perf_counter()
    run_step(step, keys, progress)
    return time.perf_counter() - start


def process_context() -> Any:
    """The start method of worker processes: forkserver (no torch or OpenMP state is forked),
    spawn where there is none (Windows)."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _start_process(setup: str, threads: int) -> None:
    """A local worker process's set-up: torch's threads and oneDNN (``setup``), and one thread
    for BLAS and OpenMP, so the workers share the cores instead of fighting over them."""
    from threadpoolctl import threadpool_limits

    os.environ["OMP_NUM_THREADS"] = "1"
    threadpool_limits(1)
    load_named(setup)(threads)


def _stop(pools: list[ProcessPoolExecutor]) -> None:
    """End the worker processes still there now, without waiting for the steps they run (an
    error, Ctrl-C: a step stopped midway leaves only its temporary folder, which the runner
    removes before it releases the run's lock)."""
    for pool in pools:
        processes = list((getattr(pool, "_processes", None) or {}).values())  # no public way
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)  # forgets the manager thread
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()
        # Its manager thread sees them gone, frees their queues and closes its wake-up pipe;
        # one still closing it at exit races concurrent.futures' exit hook, which writes to
        # that pipe ("OSError: Bad file descriptor" after the run's last line).
        if manager is not None:
            manager.join(timeout=60)


def critical_order(statuses: list[StepStatus]) -> dict[str, tuple[int, int]]:
    """Step id → its priority among the steps to run (higher first): the steps with the
    longest chain of steps to run after them first, then plan order."""
    to_run = [s.step for s in statuses if s.action == "run"]
    ids = {step.id for step in to_run}
    after: dict[str, int] = {}
    for step in reversed(to_run):  # plan order puts every step after its upstream steps
        after.setdefault(step.id, 0)
        for upstream in step.upstream.values():
            if upstream in ids:
                after[upstream] = max(after.get(upstream, 0), after[step.id] + 1)
    return {step.id: (after[step.id], -index) for index, step in enumerate(to_run)}


def schedule(
    statuses: list[StepStatus],
    slots: int,
    submit: Callable[[StepStatus, int], Any],
    wait_first: Callable[[list[Any]], Iterable[Any]],
    progress: Progress,
    finished: Finished | None = None,
) -> None:
    """Run the statuses to run on ``slots`` places, one step per place at a time: each step as
    soon as its upstream steps are done, the highest :func:`critical_order` first; the
    held-back steps (:func:`held_back`: the maps) only once every other step has started (the
    report among them, so no map ever delays it; a place the last of them leave free takes a
    map at once).
    ``submit(status, place)`` starts a step and returns a future (``result()`` → seconds,
    or the step's error); ``wait_first(futures)`` returns those that have finished."""
    priority = critical_order(statuses)
    waiting = {s.step.id: s for s in statuses if s.action == "run"}
    unfinished = set(waiting)  # steps to run that have not finished yet
    held = held_back(statuses)
    running: dict[Any, tuple[StepStatus, int]] = {}
    while waiting or running:
        busy = {place for _, place in running.values()}
        for place in (p for p in range(slots) if p not in busy):
            answers_started = held.issuperset(waiting)  # every other step has been handed out
            ready = [
                s
                for s in waiting.values()
                if unfinished.isdisjoint(s.step.upstream.values())
                and (answers_started or s.step.id not in held)
            ]
            if not ready:
                break
            status = max(ready, key=lambda s: priority[s.step.id])
            del waiting[status.step.id]
            running[submit(status, place)] = (status, place)
        for future in wait_first(list(running)):
            status, _ = running.pop(future)
            status.seconds = future.result()  # re-raises the step's error here
            unfinished.discard(status.step.id)
            progress.log(f"{status.step.id}: done in {status.seconds:.1f} s")
            if finished is not None:
                finished(status)


class ProcessExecutor:
    """Runs the steps on ``workers`` local processes, each as soon as its upstream steps are
    done: on two cores the two models' chains, and a model's independent analyses, run at the
    same time, the longest chain first (:func:`critical_order`), the deferred steps (the maps)
    last, side by side. Each process runs one step at a time with one thread (``threads`` for
    torch), so a step's outputs are exactly those of a run in one process."""

    name = "local"

    def __init__(
        self, workers: int, threads: int = 1, setup: str = "pathways.nets.threads:configure_threads"
    ) -> None:
        if workers < 2:
            raise ValueError(f"a ProcessExecutor needs at least 2 workers, not {workers}")
        self.workers = workers
        self.threads = threads
        self.setup = setup

    def run(
        self,
        run_step: RunStep,
        statuses: list[StepStatus],
        keys: Mapping[str, str],
        progress: Progress,
        finished: Finished | None = None,
    ) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        # A worker stopped mid-step (Ctrl-C, an error elsewhere) cannot release what it holds,
        # and multiprocessing's resource tracker, started with this interpreter's warning
        # options, would end the run with a warning about it: after the one line that counts.
        quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
        if quiet not in sys.warnoptions:
            sys.warnoptions.append(quiet)
        context = process_context()
        pools = [
            ProcessPoolExecutor(
                1,
                mp_context=context,
                initializer=_start_process,
                initargs=(self.setup, self.threads),
            )
            for _ in range(self.workers)
        ]
        try:
            schedule(
                statuses,
                self.workers,
                lambda status, worker: pools[worker].submit(
                    _timed_step, run_step, status.step, dict(keys), Silent()
                ),
                lambda futures: wait(futures, return_when=FIRST_COMPLETED)[0],
                progress,
                finished,
            )
            for pool in pools:  # all idle: they exit at once
                pool.shutdown()
        except BrokenProcessPool:
            raise PathwaysError(
                "a worker process died (out of memory?) — run again with --workers 1"
            ) from None
        finally:
            _stop(pools)


def _run_on_worker(
    run_step: RunStep, step: Step, keys: Mapping[str, str], setup: str, threads: int, spread: bool
) -> float:
    from pathways.engine.fanout import spread_items

    load_named(setup)(threads)
    spread_items(spread)
    return _timed_step(run_step, step, keys, Silent())


# The LocalCluster pathways starts for itself: a step there runs as fast as on a local
# worker process (README "Dask executor"; measured side by side in one run, map and novelty
# of the full experiment at once: 85.9 s with Dask's defaults, 80.7 s with these, 78.3 s local)
LOCAL_CLUSTER_CONFIG = {
    # Dask's nannies set MALLOC_TRIM_THRESHOLD_, which stops glibc from keeping freed large
    # blocks: every big numpy temporary is then mapped and zeroed afresh (novelty 35 % slower)
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # What only the dashboard shows, and this cluster has none: the statistical profiler
    # samples each worker's stack every 10 ms, the system monitor reads CPU, memory and
    # network twice a second, and every server's event loop wakes 50 times a second to time
    # itself; on two busy cores those threads take the GIL and the CPU from the steps
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "1s",
    # memory is still watched (pause, spill, restart), ten times less often
    "distributed.worker.memory.monitor-interval": "1s",
}


def local_cluster(workers: int) -> Any:
    """The ``LocalCluster`` a run without ``--scheduler`` starts: ``workers`` processes of one
    thread, no dashboard, :data:`LOCAL_CLUSTER_CONFIG`."""
    import dask
    from distributed import LocalCluster

    # Starting its workers, Dask sets OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS
    # and PYTHONHASHSEED in *this* process's environment; every later subprocess would inherit
    # them (one BLAS thread: a matrix product's last bits change). The workers have them now.
    before = dict(os.environ)
    try:
        with dask.config.set(LOCAL_CLUSTER_CONFIG):  # the nannies pass it on to their workers
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OMP_WAIT_POLICY": "PASSIVE"},
            )
    finally:
        if dict(os.environ) != before:
            os.environ.clear()
            os.environ.update(before)


class DaskExecutor:
    """Runs the steps as tasks on a Dask cluster: the one at ``scheduler`` (``tcp://host:8786``)
    or, without one, a ``LocalCluster`` of ``workers`` single-threaded processes.

    ``spread``: whether a step's per-layer items and capture shards become tasks of their own
    (:mod:`pathways.engine.fanout`); by default on a cluster at ``scheduler`` (more workers than one
    machine's steps can keep busy) and not on the ``LocalCluster``, where whole steps already
    fill the cores and the items would queue behind them. The steps are handed out as
    :func:`schedule` says — one per worker thread at a time, the longest chains first, the
    maps last — exactly as :class:`ProcessExecutor` does."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int = 2,
        threads: int = 1,
        setup: str = "pathways.nets.threads:configure_threads",
        spread: bool | None = None,
    ) -> None:
        """``setup(threads)`` runs on the worker before each step: torch's thread count and
        oneDNN off, named as ``"module:function"`` and imported there (this module imports no
        torch)."""
        self.scheduler = scheduler
        self.workers = workers
        self.threads = threads
        self.setup = setup
        self.spread = scheduler is not None if spread is None else spread

    def run(
        self,
        run_step: RunStep,
        statuses: list[StepStatus],
        keys: Mapping[str, str],
        progress: Progress,
        finished: Finished | None = None,
    ) -> None:
        from distributed import Client, wait

        cluster = None
        if self.scheduler:
            client = Client(self.scheduler, timeout="30s")
        else:
            cluster = local_cluster(self.workers)
            client = Client(cluster)
        try:
            workers = client.scheduler_info()["workers"]
            places = [
                address for address in sorted(workers) for _ in range(workers[address]["nthreads"])
            ]
            if not places:
                raise PathwaysError(
                    f"the Dask cluster at {self.scheduler} has no workers — start some "
                    f"(`dask worker {self.scheduler}`) and run again"
                )

            def submit(status: StepStatus, place: int) -> Any:
                return client.submit(
                    _run_on_worker,
                    run_step,
                    status.step,
                    dict(keys),
                    self.setup,
                    self.threads,
                    self.spread,
                    key=f"{status.step.id}-{keys[status.step.id]}",
                    pure=False,
                    workers=[places[place]],
                    allow_other_workers=True,  # a preference: a lost worker stops nothing
                )

            schedule(
                statuses,
                len(places),
                submit,
                lambda futures: wait(futures, return_when="FIRST_COMPLETED").done,
                progress,
                finished,
            )
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
