"""Running the real ``pathways`` command in a test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def pathways(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m pathways ARGS`` in ``cwd``, with its store in ``cwd/store`` and its data
    folder ``cwd/data``; a failure raises (with the output) unless ``check`` is False."""
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PATHWAYS_STORE": str(cwd / "store"),
        "PATHWAYS_DATA": str(cwd / "data"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pathways", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"pathways {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def experiment_folder(folder: Path, data_dir: Path, files: dict[str, str] | None = None) -> Path:
    """``folder`` made a user's working folder: the session's data folder (``data_dir``) as its
    ``data/``, and ``files`` (name → text: experiment files) written into it."""
    (folder / "data").symlink_to(data_dir, target_is_directory=True)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder
