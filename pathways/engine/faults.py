"""Fault injection for the reliability tests: kill this process at an exact point of a step.

``PATHWAYS_KILL_AT`` names a step and a point in it; the process running that step sends itself
SIGKILL there, so a test can stop a run at any phase and check that the next run recovers:

- ``embedding/mlp:1`` — right after the step's first progress tick (inside the stage's work;
  for a capture, with its Parquet writer open in ``RUN/.tmp``);
- ``embedding/mlp:saved`` — its outputs all written to ``RUN/.tmp``, no manifest yet;
- ``embedding/mlp:replacing`` — its previous outputs moved to ``RUN/.trash``, the new ones not
  yet in place (only when a finished step is run again).

Meant for the local executor: under Dask the worker running the step dies and Dask retries the
task. Unset, it costs one environment lookup per step.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "PATHWAYS_KILL_AT"
PHASES = ("saved", "replacing")


def _target(step_id: str) -> str | None:
    step, _, point = os.environ.get(VARIABLE, "").rpartition(":")
    return point if step == step_id else None


def kill_tick(step_id: str) -> int | None:
    """The progress tick (1 = the first) of ``step_id`` after which this process must die."""
    point = _target(step_id)
    if point is None or not point.isdigit() or int(point) < 1:
        return None
    return int(point)


def kill_at(step_id: str, phase: str) -> None:
    """Die here if ``PATHWAYS_KILL_AT`` names this step and phase (one of :data:`PHASES`)."""
    if _target(step_id) == phase:
        kill_now()


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
