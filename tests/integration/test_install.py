"""pathways as a stranger installs it: the built wheel in a fresh venv, used from an empty folder.

The wheel is built from a copy of what a source distribution holds (pyproject.toml, README.md,
pathways/, pipelines/), without network (no build isolation, no index). The fresh venv gets the
wheel alone (``--no-deps``); its dependencies are the ones this test session runs on, reached
through a ``.pth`` line that puts their site-packages folder on ``sys.path`` (a line, not a site
folder: the editable install's hook in that folder is not run, so the checkout stays out of
reach — asserted below).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "tools"))
from readme_report import README, excerpt, readme_block, same_but_for_rounding  # noqa: E402

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PATHWAYS_", "PYTHON", "VIRTUAL"))
    }
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "*.egg-info")
    for name in ("pathways", "pipelines"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run(
        *pip,
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        root,
        source,
        cwd=root,
    )
    (found,) = root.glob("pathways-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", root / "venv", cwd=root)
    python = root / "venv" / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    _run(*pip, "install", "--no-deps", "--no-index", wheel, cwd=root)
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root
    )
    dependencies = "\n".join(site.getsitepackages())
    (Path(purelib.stdout.strip()) / "_pathways_test_dependencies.pth").write_text(
        dependencies + "\n"
    )
    return root / "venv" / "bin"


def test_the_wheel_holds_every_module_and_the_packaged_experiments(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        "pathways/" + str(p.relative_to(REPO / "pathways"))
        for p in (REPO / "pathways").rglob("*.py")
        if "node_modules" not in p.parts
    }
    assert modules and modules <= names, sorted(modules - names)
    experiments = {f"pathways/experiments/{p.name}" for p in (REPO / "pipelines").glob("*.toml")}
    assert {"pathways/experiments/default.toml", "pathways/experiments/__init__.py"} <= names
    assert experiments <= names
    assert "pathways/app/assets/plotly-pathways.min.js" in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Python: >=3.11\n" in text
    requirements = re.findall(r"^Requires-Dist: (\S+?)[ ;\n<>=!~]", text, re.MULTILINE)
    assert "torch" in requirements
    assert not re.search(r"^Requires-Dist: [^;\n]*==", text, re.MULTILINE), "pins in metadata"


def test_pathways_runs_from_an_empty_folder_without_the_checkout(venv: Path, tmp_path: Path):
    where = _run(
        venv / "python",
        "-c",
        "import sys, pathways, pathways.experiments as e; print(pathways.__file__); "
        "print(e.__file__); print('\\n'.join(sys.path))",
        cwd=tmp_path,
    ).stdout.splitlines()
    venv_root = str(venv.parent)
    assert where[0].startswith(venv_root) and where[1].startswith(venv_root), where
    assert str(REPO) not in where[2:] and str(REPO / "pathways") not in where[2:]

    version = _run(venv / "pathways", "--version", cwd=tmp_path).stdout
    assert version.startswith("pathways 0.1.0 (Python 3.")
    assert _run(venv / "python", "-m", "pathways", "--version", cwd=tmp_path).stdout == version

    # A commented copy of the default to edit; a second init never overwrites it.
    result = _run(venv / "pathways", "init", "small", cwd=tmp_path)
    assert "wrote small.toml" in result.stdout
    written = (tmp_path / "small.toml").read_text()
    assert 'name = "small"' in written and written.count("#") > 40
    again = _run(venv / "pathways", "init", "small", cwd=tmp_path, check=False)
    assert again.returncode == 2 and again.stderr.startswith("error: small.toml: already exists")
    assert (tmp_path / "small.toml").read_text() == written

    # Made small by editing it as a user would: fewer digits and epochs, one model, one seed.
    small = written.replace("# samples_per_class = 100", "samples_per_class = 40")
    small = re.sub(r"epochs = \d+", "epochs = 1", small)
    small = re.sub(r"stability_seeds = \d+", "stability_seeds = 1", small)
    small = re.sub(
        r'\[\[models\]\]\nname = "lenet5".*?pooling = "max"[^\n]*\n', "", small, flags=re.S
    )
    assert len(re.findall(r"^\[\[models\]\]", small, re.M)) == 1, small
    assert "samples_per_class = 40" in small
    (tmp_path / "small.toml").write_text(small)
    plan = _run(venv / "pathways", "stages", "small.toml", cwd=tmp_path).stdout
    assert "experiment 'small'" in plan and "train/lenet5" not in plan

    # With no argument: the packaged default, written to ./data/store/default — the README's
    # main job, whose report the README quotes.
    plan = _run(venv / "pathways", "stages", cwd=tmp_path).stdout
    assert "experiment 'default'" in plan and "train/lenet5" in plan
    run = _run(venv / "pathways", "run", "--workers", "2", cwd=tmp_path)
    assert "ran" in run.stdout
    store = tmp_path / "data/store/default"
    activations = pd.read_parquet(store / "capture/mlp/activations.parquet")
    assert len(activations) == 1500 and set(activations["label"]) == {1, 3, 7}
    assert {"fc1__000", "fc3__63", "prob__7"} <= set(activations.columns)
    metrics = pd.read_parquet(store / "novelty/lenet5/metrics.parquet")
    assert "signature_knn_path" in set(metrics["method"])
    report = json.loads((store / "report/report.json").read_text())
    real, written = excerpt(report), readme_block(README.read_text(encoding="utf-8"))
    assert same_but_for_rounding(written, real), (
        "README.md's report excerpt is not the default run's report — run "
        "`pathways run && python tests/tools/readme_report.py`\n" + real
    )
    samples = pd.read_parquet(store / "data/samples.parquet")
    assert len(samples) == 1500 and set(samples["label"]) == {1, 3, 7}
