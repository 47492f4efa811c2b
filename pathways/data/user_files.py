"""Where a user's own files are found: data paths, checkpoints and the modules of their models.

One rule for all of them: a relative path is looked up in the working folder first, then in the
folder of the experiment file that names it (so an experiment travels with its files); the
module of a ``factory = "mynets:SmallResNet"`` is imported with both folders on the import path.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def search_folders(experiment_dir: str | Path | None) -> list[Path]:
    """The working folder, then the experiment file's folder (absolute, without repeats)."""
    folders = [Path.cwd().resolve()]
    if experiment_dir is not None and Path(experiment_dir).resolve() not in folders:
        folders.append(Path(experiment_dir).resolve())
    return folders


def locate(path: str | Path, experiment_dir: str | Path | None) -> Path:
    """The absolute path ``path`` names: itself if absolute, else the first of the search
    folders that holds it (the working folder's, when none does: errors then name that)."""
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    folders = search_folders(experiment_dir)
    return next((f / path for f in folders if (f / path).exists()), folders[0] / path)


@contextmanager
def on_import_path(folders: Sequence[str | Path]) -> Iterator[None]:
    """``folders`` first on ``sys.path`` for the block (the ones added are removed after)."""
    added = [str(f) for f in folders if str(f) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            if folder in sys.path:
                sys.path.remove(folder)


def module_file(module: str, folders: Sequence[str | Path]) -> Path | None:
    """The source file of ``module`` (dotted) found in ``folders``, then on ``sys.path``,
    without importing it (None when there is none)."""
    import importlib.util
    from importlib.machinery import PathFinder

    parts = module.split(".")
    search: list[str] | None = [str(f) for f in folders] + sys.path
    spec = None
    for i in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), search)
        if spec is None and i == 0:  # an editable install's package is found by its own finder
            spec = importlib.util.find_spec(parts[0])
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or [])
    origin = getattr(spec, "origin", None)
    return Path(origin) if origin and Path(origin).is_file() else None


def file_digest(path: str | Path) -> str:
    """``sha256:…`` of a file's content."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
