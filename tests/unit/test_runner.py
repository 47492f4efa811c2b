"""The cached runner: keys, skipping, downstream re-runs, atomic outputs, locking."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from pathways.engine.runner import Runner
from pathways.engine.steps import Stage, Step, step_keys

CALLS: list[str] = []


def make(*, n, progress):
    CALLS.append("make")
    return {"table": pd.DataFrame({"x": range(n)}), "info": {"n": n}}


def double(src, *, factor, progress):
    CALLS.append("double")
    table = src["table"]
    return {"table": table.assign(y=table.x * factor), "blob": b"\x00\x01"}


def broken(src, *, factor, progress):
    raise RuntimeError("stage crashed")


DOUBLED = ("table", "blob")
MAKE = Stage("make", 1, make, outputs=("table", "info"))
DOUBLE = Stage("double", 1, double, ("src",), outputs=DOUBLED)


def plan(n=5, factor=2, version=1):
    return [
        Step("make", MAKE, {"n": n}),
        Step(
            "double/a",
            Stage("double", version, double, ("src",), outputs=DOUBLED),
            {"factor": factor},
            upstream={"src": "make"},
        ),
        Step("double/b", DOUBLE, {"factor": 3}, upstream={"src": "make"}),
    ]


def actions(statuses):
    return {s.step.id: s.action for s in statuses}


def test_second_run_skips_everything_and_one_parameter_reruns_downstream(tmp_path):
    runner = Runner(tmp_path / "run")
    CALLS.clear()
    assert set(actions(runner.run(plan())).values()) == {"run"}
    assert CALLS == ["make", "double", "double"]
    CALLS.clear()
    assert set(actions(runner.run(plan())).values()) == {"cached"}
    assert CALLS == []
    assert actions(runner.run(plan(factor=5))) == {
        "make": "cached",
        "double/a": "run",
        "double/b": "cached",
    }
    assert actions(runner.run(plan(factor=5, version=2)))["double/a"] == "run"
    assert actions(runner.run(plan(n=7, factor=5, version=2))) == {
        "make": "run",
        "double/a": "run",
        "double/b": "run",
    }
    out = pd.read_parquet(tmp_path / "run" / "double/a" / "table.parquet")
    assert out["y"].tolist() == [x * 5 for x in range(7)]


def test_force_and_only(tmp_path):
    runner = Runner(tmp_path / "run")
    runner.run(plan())
    assert actions(runner.run(plan(), force=True)) == dict.fromkeys(
        ["make", "double/a", "double/b"], "run"
    )
    assert actions(runner.run(plan(), only=["double/b"], force=True)) == {
        "make": "cached",
        "double/a": "cached",
        "double/b": "run",
    }
    fresh = Runner(tmp_path / "fresh")
    # --only a downstream step runs its missing upstream too, and nothing else.
    assert actions(fresh.run(plan(), only=["double/a"])) == {
        "make": "run",
        "double/a": "run",
        "double/b": "skip",
    }
    with pytest.raises(Exception, match="no such stage or step"):
        fresh.run(plan(), only=["nope"])


def test_keys_depend_on_params_version_and_upstream():
    base = step_keys(plan())
    assert step_keys(plan()) == base
    assert step_keys(plan(factor=9))["double/a"] != base["double/a"]
    assert step_keys(plan(factor=9))["double/b"] == base["double/b"]
    assert step_keys(plan(n=9))["double/b"] != base["double/b"]


def test_manifest_and_parquet_provenance(tmp_path):
    runner = Runner(tmp_path / "run", provenance={"experiment": {"name": "t"}})
    runner.run(plan())
    manifest = json.loads((tmp_path / "run" / "double/a" / "manifest.json").read_text())
    assert manifest["params"] == {"factor": 2} and manifest["outputs"]["table"]["rows"] == 5
    assert manifest["upstream"]["src"]["step"] == "make"
    assert "numpy" in manifest["versions"] and manifest["seconds"] >= 0
    import pyarrow.parquet as pq

    meta = pq.read_schema(tmp_path / "run" / "double/a" / "table.parquet").metadata
    prov = json.loads(meta[b"pathways.provenance"])
    assert prov["experiment"] == {"name": "t"} and prov["key"] == manifest["key"]
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert set(record["steps"]) == {"make", "double/a", "double/b"}


def test_failed_stage_leaves_previous_output_and_no_partial_files(tmp_path):
    runner = Runner(tmp_path / "run")
    runner.run(plan())
    before = (tmp_path / "run" / "double/a" / "manifest.json").read_text()
    failing = plan(factor=9)
    failing[1] = Step(
        "double/a",
        Stage("double", 1, broken, ("src",), outputs=DOUBLED),
        {"factor": 9},
        upstream={"src": "make"},
    )
    with pytest.raises(RuntimeError, match="stage crashed"):
        runner.run(failing)
    assert (tmp_path / "run" / "double/a" / "manifest.json").read_text() == before
    assert not (tmp_path / "run" / ".tmp").exists() or not any(
        (tmp_path / "run" / ".tmp").iterdir()
    )
    # The crashed step is not cached: the next run does it.
    assert actions(runner.plan_status(plan(factor=9)))["double/a"] == "run"


def test_damaged_output_is_not_taken_as_cached(tmp_path):
    runner = Runner(tmp_path / "run")
    runner.run(plan())
    (tmp_path / "run" / "double/b" / "blob").write_bytes(b"\x00")
    assert actions(runner.plan_status(plan()))["double/b"] == "run"


def interrupted(src, *, factor, progress):
    raise KeyboardInterrupt


def _failing(func) -> list[Step]:
    steps = plan()
    steps[1] = Step(
        "double/a",
        Stage("double", 1, func, ("src",), outputs=DOUBLED),
        {"factor": 2},
        {"src": "make"},
    )
    return steps


def test_a_failed_run_in_a_new_folder_leaves_the_store_as_it_was(tmp_path):
    (tmp_path / "store").mkdir()
    runner = Runner(tmp_path / "store" / "new" / "run")  # "new" and "run" made by the run
    with pytest.raises(RuntimeError, match="stage crashed"):
        runner.run(_failing(broken))
    assert list(tmp_path.rglob("*")) == [tmp_path / "store"]  # "make" had finished: gone too


def test_ctrl_c_keeps_the_finished_steps_of_a_new_run(tmp_path):
    runner = Runner(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        runner.run(_failing(interrupted))
    assert actions(runner.plan_status(plan())) == {
        "make": "cached",  # the next run resumes after it
        "double/a": "run",
        "double/b": "run",
    }


SLOW_RUN = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from pathways.engine.runner import Runner
    from pathways.engine.steps import Stage, Step

    def slow(*, log, progress):
        time.sleep(1.0)
        with open(log, "a") as fh:
            fh.write("ran\\n")
        return {"table": pd.DataFrame({"x": range(1000)})}

    step = Step("slow", Stage("slow", 1, slow, outputs=("table",)), {"log": sys.argv[2]})
    statuses = Runner(sys.argv[1]).run([step])
    print(statuses[0].action)
    """
)


def test_two_processes_on_one_run_do_not_corrupt_it(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(SLOW_RUN)
    log = tmp_path / "log.txt"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "run"), str(log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert results == ["cached", "run"]
    assert log.read_text() == "ran\n"
    assert len(pd.read_parquet(tmp_path / "run" / "slow" / "table.parquet")) == 1000
