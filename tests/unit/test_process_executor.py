"""ProcessExecutor: steps on local worker processes, several at once, each after its upstream
steps, every step of a compiled stage on one process; errors reach the caller as one line."""

from __future__ import annotations

import os
import pickle
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from pathways.engine.executors import ProcessExecutor, critical_order
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
MAPS = Stage("maps", 1, after, ("src",), outputs=("record",), compiled=True)
JOIN = Stage("join", 1, join, ("a", "b"), outputs=("record",))


def plan(running: Path | str = "") -> list[Step]:
    """The test plan; its steps mark themselves running in the folder ``running``. The first
    map waits until another step runs beside it, so two steps at once is certain, not a race."""
    params = {"running": str(running)}
    steps = [Step("root", ROOT, {**params, "seconds": 0.1})]
    steps += [
        Step(
            f"maps/{m}",
            MAPS,
            {**params, "seconds": 0.2, "wait_for_peer": m == "a"},
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


def test_the_compiled_stage_runs_on_one_process(ran):
    _, records = ran
    assert records["maps/a"]["pid"] == records["maps/b"]["pid"]
    assert len({r["pid"] for r in records.values()}) == 2


def test_compiled_stages_then_the_longest_chains_go_first():
    statuses = plan_status(plan(), lambda step_id, key: False)
    order = critical_order(statuses)
    ranked = sorted(order, key=order.get, reverse=True)
    assert ranked[:2] == ["maps/a", "maps/b"]  # compiled, in plan order
    assert ranked[2] == "root"  # three steps in a row after it
    assert ranked[3] == "work/c"  # the join waits for it
    assert ranked[-1] == "join"


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
