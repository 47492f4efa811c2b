"""Fault injection for the reliability tests: kill this process in the middle of a step.

``PATHWAYS_KILL_AT="embedding/mlp:1"`` sends SIGKILL to the process running step
``embedding/mlp`` right after its first progress tick, so a test can stop a run at an exact
point inside any stage (for a capture: with a half-written Parquet file in ``RUN/.tmp``) and
check that the next run recovers. Unset, it costs one dictionary lookup per step.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "PATHWAYS_KILL_AT"


def kill_tick(step_id: str) -> int | None:
    """The progress tick of ``step_id`` after which this process must die, if one is set."""
    target = os.environ.get(VARIABLE, "")
    step, _, tick = target.rpartition(":")
    if step != step_id or not tick.isdigit():
        return None
    return int(tick)


def kill_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
