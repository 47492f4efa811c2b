"""One worker process beside the explorer, for what needs the network (torch).

The explorer's own process never imports torch (it starts fast and stays small); the few
callbacks that run the network, such as the Signatures view's ablation, hand a function's name
and its arguments to this worker, which is started on first use and keeps what it loaded
between calls. Errors come back as :class:`~pathways.errors.PathwaysError` with their message.
"""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pathways.engine.executors import process_context
from pathways.errors import PathwaysError
from pathways.registry import call_named, load_named

THREADS = "pathways.nets.threads:configure_threads"
"""Sets torch's threads in the worker (named: this process does not import torch)."""


def _start(threads: int) -> None:
    load_named(THREADS)(threads)  # and OpenMP threads that sleep: the explorer shares the cores


class Worker:
    """A lazily started single worker process (started as the pipeline's workers are:
    :func:`~pathways.engine.executors.process_context`)."""

    def __init__(self, threads: int = 1, timeout: float = 300.0) -> None:
        self.threads = threads
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def call(self, name: str, **kwargs: Any) -> Any:
        """``name(**kwargs)`` run in the worker; its result."""
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    1, mp_context=process_context(), initializer=_start, initargs=(self.threads,)
                )
            pool = self._pool
        try:
            return pool.submit(call_named, name, kwargs).result(timeout=self.timeout)
        except BrokenProcessPool:
            self.close()
            raise PathwaysError(
                "the explorer's worker process stopped (out of memory?) — try again"
            ) from None
        except FutureTimeout:
            self.close()
            raise PathwaysError(
                f"the network took more than {self.timeout:.0f} s — try fewer classes"
            ) from None

    def close(self) -> None:
        """Stop the worker (a later call starts a new one)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
