"""A run's keys follow what the data and the user's files hold, not where the project lies:
a project folder copied elsewhere (new paths, new modification times) keeps every key; a
changed image changes the data step's key and everything after it."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest
from image_folders import rgb_experiment, write_images

from pathways.engine.steps import step_keys
from pathways.experiment.config import parse_experiment
from pathways.stages.plan import build_plan

HERE = Path(__file__).parent


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "first" / "project"
    folder.mkdir(parents=True)
    shutil.copy(HERE.parent / "integration" / "user_nets.py", folder / "user_nets.py")
    write_images(folder / "images", per_class=4)
    return folder


def _keys(project: Path) -> dict[str, str]:
    experiment = parse_experiment(tomllib.loads(rgb_experiment("moved")))
    plan = build_plan(experiment, data_dir=project / "data", experiment_dir=project)
    return step_keys(plan)


def test_a_copied_project_keeps_every_key(project: Path, tmp_path: Path):
    before = _keys(project)
    copy = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(project, copy, copy_function=shutil.copy)  # new times, new absolute paths
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert _keys(copy) == before


def test_a_changed_image_changes_the_data_key_and_what_follows(project: Path):
    before = _keys(project)
    image = sorted((project / "images" / "red").glob("*.png"))[0]
    other = sorted((project / "images" / "green").glob("*.png"))[0]
    image.write_bytes(other.read_bytes())  # same size class of file, other pixels
    after = _keys(project)
    assert after["data"] != before["data"]
    assert all(after[step] != key for step, key in before.items())  # every step reads the data
