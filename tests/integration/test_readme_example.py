"""The README's "Your own network" example, run exactly as written: its files are the fenced
blocks named ``python mynets.py`` and ``toml digits8.toml``, its commands the ``bash`` blocks
(``pathways explore``, which would serve forever, is left out)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs whole experiments (see README, Development)

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Your own network")
    return text[start : text.index("\n## ", start + 1)]


def test_the_readme_example_runs_as_written(tmp_path: Path):
    blocks = re.findall(r"```(\w+)(?: (\S+))?\n(.*?)```", _section(), flags=re.S)
    files = {name: body for kind, name, body in blocks if name}
    commands = [body.strip() for kind, name, body in blocks if kind == "bash" and not name]
    assert set(files) == {"mynets.py", "digits8.toml"} and len(commands) == 2
    for name, body in files.items():
        (tmp_path / name).write_text(body)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PATHWAYS_STORE": str(tmp_path / "store"),
        "PATHWAYS_DATA": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    script = commands[0] + "\n" + commands[1].replace(" && pathways explore", "")
    assert "pathways explore" not in script
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "trained on 1, 7; unseen 3" in result.stdout  # the report
    assert "relu#1" in result.stdout  # the reused ReLU's second call is a layer
    run = tmp_path / "store" / "digits8"
    assert (run / "explain/tiny/settings.json").is_file()
    assert (run / "stability/tiny").is_dir()  # re-trained from the factory at other seeds
