"""Finding runs inside a store, safely.

A run is a folder ``STORE/<name>/`` written by :class:`pathways.engine.runner.Runner`. Run names come
from users (CLI, explorer URLs), so a name that would leave the store — ``..``, an absolute
path, a separator — is refused instead of resolved.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pathways.errors import StoreError
from pathways.store.format import check_store_format

_RUN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def run_path(store: str | Path, name: str) -> Path:
    """The folder of run ``name`` inside ``store``; refuses names that would leave the store."""
    if not _RUN_NAME.fullmatch(name or "") or name in {".", ".."}:
        raise StoreError(
            f"run name {name!r} is not allowed — use a run's plain folder name inside the store "
            "(letters, digits, '_', '-', '.'), see `pathways show` for the list"
        )
    root = Path(store).resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise StoreError(f"run name {name!r} leaves the store {root} — use a run inside it")
    return path


def list_runs(store: str | Path) -> list[str]:
    """Names of the runs in ``store`` that have a run record, sorted (a link to a folder
    outside the store is not a run of it)."""
    root = Path(store)
    if not root.is_dir():
        return []
    inside = root.resolve()
    return sorted(
        p.name
        for p in root.iterdir()
        if (p / "run.json").is_file()
        and _RUN_NAME.fullmatch(p.name)
        and p.resolve().parent == inside
    )


def read_run(store: str | Path, name: str) -> dict[str, Any]:
    """The run record (experiment, steps and their keys) of run ``name``."""
    path = run_path(store, name)
    record = path / "run.json"
    if not record.is_file():
        known = ", ".join(list_runs(store)) or "none yet — run `pathways run` first"
        raise StoreError(f"no run {name!r} in {Path(store)} — runs there: {known}")
    try:
        data = json.loads(record.read_text())
    except ValueError:
        raise StoreError(
            f"{record}: unreadable run record — re-run `pathways run` for it"
        ) from None

    check_store_format(path)
    return data
