"""The Dask executor (a real LocalCluster) gives exactly the local executor's outputs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathways.config import parse_experiment
from pathways.executors import DaskExecutor
from pathways.pipeline import build_plan, runner_for


@pytest.fixture(scope="module")
def two_runs(
    tmp_path_factory, data_dir: Path, tiny_run_config: str
) -> tuple[Path, Path, list, list]:
    from pathways.threads import configure_threads

    configure_threads(1)  # as the CLI does; the workers run with the same count
    experiment = parse_experiment(tomllib.loads(tiny_run_config))
    plan = build_plan(experiment, data_dir=data_dir)
    # 120 samples in shards of whole 32-sample capture batches: 4 shards
    sharded = build_plan(experiment, data_dir=data_dir, shard_samples=50)
    local, dask = tmp_path_factory.mktemp("local"), tmp_path_factory.mktemp("dask")
    ran_local = runner_for(experiment, local).run(plan)
    ran_dask = runner_for(experiment, dask).run(sharded, executor=DaskExecutor(workers=2))
    return local / "tiny", dask / "tiny", ran_local, ran_dask


def test_every_step_ran_on_the_cluster_with_the_same_keys(two_runs):
    _, dask_run, ran_local, ran_dask = two_runs
    assert [s.key for s in ran_local] == [s.key for s in ran_dask]
    assert all(s.action == "run" and s.seconds is not None for s in ran_dask)
    assert not (dask_run / ".tmp").exists() or not any((dask_run / ".tmp").iterdir())


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
def test_outputs_are_identical(two_runs, output: str):
    local_run, dask_run, _, _ = two_runs
    pd.testing.assert_frame_equal(
        pd.read_parquet(local_run / output), pd.read_parquet(dask_run / output)
    )


def test_arrays_are_identical(two_runs):
    local_run, dask_run, _, _ = two_runs
    for name in ("images", "maps_conv1", "maps_conv2", "occlusion_predicted", "gradcam", "deconv"):
        np.testing.assert_array_equal(
            np.load(local_run / "explain" / "lenet5" / f"{name}.npy"),
            np.load(dask_run / "explain" / "lenet5" / f"{name}.npy"),
            err_msg=name,
        )
