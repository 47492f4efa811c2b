"""ProcessExecutor: steps on local worker processes, several at once, each after its upstream
steps, the deferred steps (the maps) after all the others; errors reach the caller as one line."""

from __future__ import annotations

import os
import pickle
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from pathways.engine.executors import (
    LocalExecutor,
    ProcessExecutor,
    critical_order,
    run_order,
    schedule,
)
from pathways.engine.progress import Silent
from pathways.engine.runner import Runner
from pathways.engine.steps import Stage, Step, plan_status
from pathways.errors import PathwaysError, TrainingDiverged


def _record(running: str, seconds: float, wait_for_peer: bool = False) -> dict:
    """Run for ``seconds`` with a marker file in the folder ``running``, and record how many
    steps held a marker at once as this one saw it: the last of several steps running at the
    same time sees all their markers. ``wait_for_peer`` holds the step until another step is
    running too (a barrier, not a sleep: with two workers and ready steps one must start)."""
    folder = Path(running)
    marker = folder / f"{os.getpid()}-{time.monotonic_ns()}"
    start = time.time()
    marker.touch()
    try:
        most = sum(1 for _ in folder.iterdir())
        deadline = time.monotonic() + 120
        while wait_for_peer and most < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
            most = max(most, sum(1 for _ in folder.iterdir()))
        time.sleep(seconds)
    finally:
        marker.unlink()
    record = {"pid": [os.getpid()], "start": [start], "end": [time.time()], "most": [most]}
    return {"record": pd.DataFrame(record)}


def root(*, running, seconds, progress):
    return _record(running, seconds)


def after(src, *, running, seconds, progress, wait_for_peer=False):
    assert len(src["record"]) == 1  # the upstream output is there to read
    return _record(running, seconds, wait_for_peer)


def join(a, b, *, running, seconds, progress):
    return _record(running, seconds)


def refuse(src, *, seconds, progress):
    raise PathwaysError("this step's input is wrong — fix it")


def die(src, *, seconds, progress):
    os.kill(os.getpid(), signal.SIGKILL)


ROOT = Stage("root", 1, root, outputs=("record",))
WORK = Stage("work", 1, after, ("src",), outputs=("record",))
MAPS = Stage("maps", 1, after, ("src",), outputs=("record",), deferred=True)
JOIN = Stage("join", 1, join, ("a", "b"), outputs=("record",))


def plan(running: Path | str = "", peer: bool = True) -> list[Step]:
    """The test plan; its steps mark themselves running in the folder ``running``. The first
    map waits until another step runs beside it (``peer``), so two steps at once is certain,
    not a race."""
    params = {"running": str(running)}
    steps = [Step("root", ROOT, {**params, "seconds": 0.1})]
    steps += [
        Step(
            f"maps/{m}",
            MAPS,
            {**params, "seconds": 0.2, "wait_for_peer": peer and m == "a"},
            {"src": "root"},
        )
        for m in "ab"
    ]
    steps += [Step(f"work/{m}", WORK, {**params, "seconds": 0.2}, {"src": "root"}) for m in "abc"]
    steps.append(Step("join", JOIN, {**params, "seconds": 0.1}, {"a": "maps/a", "b": "work/c"}))
    return steps


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    running = tmp_path_factory.mktemp("running")
    runner = Runner(tmp_path_factory.mktemp("processes") / "run")
    statuses = runner.run(plan(running), executor=ProcessExecutor(2))
    records = {
        s.step.id: pd.read_parquet(runner.step_dir(s.step.id) / "record.parquet").iloc[0]
        for s in statuses
    }
    assert not any(running.iterdir())  # every step took its marker away
    return statuses, records


def test_every_step_ran_on_a_worker_process(ran):
    statuses, records = ran
    assert all(s.action == "run" and s.seconds > 0 for s in statuses)
    assert os.getpid() not in {r["pid"] for r in records.values()}


def test_each_step_starts_after_its_upstream_steps_end(ran):
    statuses, records = ran
    for status in statuses:
        for upstream in status.step.upstream.values():
            assert records[status.step.id]["start"] >= records[upstream]["end"]


def test_two_steps_run_at_once_and_never_more(ran):
    _, records = ran
    assert max(r["most"] for r in records.values()) == 2
    assert records["maps/a"]["most"] == 2  # it waited for a step on the other worker


class _Done:
    """A finished step, as a future: ``result()`` gives its seconds."""

    def result(self) -> float:
        return 0.0


def test_no_deferred_step_is_handed_out_while_another_step_waits():
    """The scheduler alone, on two places, steps finishing in the order they started: every
    step but the maps (and what reads them) has been handed out before the first map is."""
    statuses = plan_status(plan(), lambda step_id, key: False)
    handed: list[str] = []
    futures: list[tuple[_Done, str]] = []

    def submit(status, place):
        handed.append(status.step.id)
        futures.append((_Done(), status.step.id))
        return futures[-1][0]

    def wait_first(running):
        first = next(f for f, _ in futures if f in running)
        return [first]

    schedule(statuses, 2, submit, wait_first, Silent())
    first_map = min(handed.index(m) for m in ("maps/a", "maps/b"))
    assert set(handed[:first_map]) == {"root", "work/a", "work/b", "work/c"}
    assert handed[-1] == "join" and len(handed) == len(statuses)


def test_the_longest_chains_go_first():
    statuses = plan_status(plan(), lambda step_id, key: False)
    order = critical_order(statuses)
    ranked = sorted(order, key=order.get, reverse=True)
    assert ranked[0] == "root"  # two steps in a row after it
    assert ranked[1:3] == ["maps/a", "work/c"]  # the join waits for them, in plan order
    assert ranked[-1] == "join"


def test_one_process_runs_the_deferred_steps_and_what_reads_them_last(tmp_path):
    steps = plan(tmp_path, peer=False)  # no peer to wait for in one process
    order = [s.step.id for s in run_order(plan_status(steps, lambda step_id, key: False))]
    assert order == ["root", "work/a", "work/b", "work/c", "maps/a", "maps/b", "join"]
    finished: list[str] = []
    ran = Runner(tmp_path / "run").run(steps, executor=_Recording(finished))
    assert finished == order
    assert all(s.action == "run" for s in ran)


class _Recording(LocalExecutor):
    """The local executor, noting the order in which steps finish."""

    def __init__(self, finished: list[str]) -> None:
        self.finished = finished

    def run(self, run_step, statuses, keys, progress, finished=None):
        def note(status):
            self.finished.append(status.step.id)
            if finished is not None:
                finished(status)

        super().run(run_step, statuses, keys, progress, note)


@pytest.mark.parametrize(
    ("func", "message"), [(refuse, "input is wrong"), (die, "worker process died")]
)
def test_a_failing_step_stops_the_run_with_one_line(tmp_path, func, message):
    steps = plan(tmp_path)[:1] + [
        Step(
            "bad",
            Stage("bad", 1, func, ("src",), outputs=("record",)),
            {"seconds": 0},
            {"src": "root"},
        )
    ]
    runner = Runner(tmp_path / "run")
    with pytest.raises(PathwaysError, match=message):
        runner.run(steps, executor=ProcessExecutor(2))
    assert not runner.run_dir.exists()  # a new run folder that failed is taken away
    runner.run(steps[:1])
    with pytest.raises(PathwaysError, match=message):
        runner.run(steps, executor=ProcessExecutor(2))
    assert (runner.step_dir("root") / "record.parquet").is_file()  # an earlier run's steps stay
    assert not runner.step_dir("bad").exists()


def test_training_divergence_crosses_processes_intact():
    error = TrainingDiverged(2, 5, 10, float("nan"), "test")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.batch == 5
