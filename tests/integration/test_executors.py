"""The Dask executor (a real LocalCluster) and the local worker processes (``--workers 2``) give
exactly the outputs of a run in one process."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathways.engine.executors import DaskExecutor, ProcessExecutor, local_cluster
from pathways.experiment.config import parse_experiment
from pathways.stages.plan import build_plan, runner_for

pytestmark = pytest.mark.slow  # runs whole experiments (see README, Development)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory, data_dir: Path, tiny_run_config: str, tiny_reference: Path
) -> dict[str, tuple[Path, list | None]]:
    """Run folder and statuses of the tiny experiment on Dask (spreading per-layer items and
    capture shards, and not) and on local worker processes; "local": the session's reference
    run of it, in one fresh process (``pathways run``)."""
    from pathways.nets.threads import configure_threads

    configure_threads(1)  # as the CLI does; the workers run with the same count
    experiment = parse_experiment(tomllib.loads(tiny_run_config))
    plan = build_plan(experiment, data_dir=data_dir)
    # 120 samples in shards of whole 32-sample capture batches: 4 shards
    sharded = build_plan(experiment, data_dir=data_dir, shard_samples=50)
    ran: dict[str, tuple[Path, list | None]] = {"local": (tiny_reference, None)}
    for name, steps, executor in [
        ("dask", sharded, DaskExecutor(workers=2, spread=True)),  # as on a remote cluster
        ("dask-steps", sharded, DaskExecutor(workers=2)),  # a LocalCluster: whole steps only
        ("processes", plan, ProcessExecutor(2)),
    ]:
        store = tmp_path_factory.mktemp(name)
        ran[name] = (store / "tiny", runner_for(experiment, store).run(steps, executor=executor))
    return ran


EXECUTORS = pytest.mark.parametrize("executor", ["dask", "dask-steps", "processes"])


@EXECUTORS
def test_every_step_ran_elsewhere_with_the_same_keys(runs, executor):
    (local_run, _), (run, ran) = runs["local"], runs[executor]
    local_keys = json.loads((local_run / "run.json").read_text())["steps"]
    assert {s.step.id: s.key for s in ran} == {k: v["key"] for k, v in local_keys.items()}
    assert all(s.action == "run" and s.seconds is not None for s in ran)
    assert not (run / ".tmp").exists() or not any((run / ".tmp").iterdir())


@pytest.mark.parametrize(
    "output",
    [
        "capture/mlp/activations.parquet",
        "capture/lenet5@seed1/activations.parquet",
        "clusters/lenet5/assignments.parquet",
        "paths/mlp/sample_paths.parquet",
        "novelty/lenet5/scores.parquet",
        "stability/mlp/cluster_agreement.parquet",
        "rotation/lenet5/curves.parquet",
        "explain/lenet5/explained.parquet",
    ],
)
@EXECUTORS
def test_outputs_are_identical(runs, executor, output: str):
    local_run, run = runs["local"][0], runs[executor][0]
    pd.testing.assert_frame_equal(
        pd.read_parquet(local_run / output), pd.read_parquet(run / output)
    )


@EXECUTORS
def test_arrays_are_identical(runs, executor):
    local_run, run = runs["local"][0], runs[executor][0]
    for name in ("images", "maps_conv1", "maps_conv2", "occlusion_predicted", "gradcam", "deconv"):
        np.testing.assert_array_equal(
            np.load(local_run / "explain" / "lenet5" / f"{name}.npy"),
            np.load(run / "explain" / "lenet5" / f"{name}.npy"),
            err_msg=name,
        )


def test_own_local_cluster_runs_only_what_the_steps_need():
    """pathways' LocalCluster keeps glibc's trimming and drops the dashboard-only monitors on
    every worker and on the scheduler (a step there ran 6 % slower with Dask's defaults)."""
    from distributed import Client

    def periodic(server) -> dict:  # a worker's or the scheduler's periodic callbacks, in ms
        return {
            name: callback.callback_time for name, callback in server.periodic_callbacks.items()
        }

    def state(dask_worker) -> dict:  # client.run passes the worker by that name
        import os

        return {
            "MALLOC_TRIM_THRESHOLD_": os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            "callbacks": periodic(dask_worker),
        }

    before = dict(os.environ)
    with local_cluster(2) as cluster, Client(cluster) as client:
        assert dict(os.environ) == before  # no OMP_NUM_THREADS=1 left for our subprocesses
        workers = client.run(state)
        scheduler = client.run_on_scheduler(lambda dask_scheduler: periodic(dask_scheduler))
    assert len(workers) == 2
    for seen in workers.values():
        assert seen["MALLOC_TRIM_THRESHOLD_"] is None
        callbacks = seen["callbacks"]
        assert "profile" not in callbacks and "profile-cycle" not in callbacks
        assert callbacks["monitor"] == 5000 and callbacks["tick"] == 1000
        assert callbacks["memory_monitor"] == 1000
    assert scheduler["tick"] == 1000 and scheduler["monitor"] == 5000
