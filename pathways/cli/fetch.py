"""``pathways data fetch``: download a data set's files and verify them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from pathways.cli.common import DataDirOption, out, progress, user_errors
from pathways.errors import PathwaysError


@user_errors
def data_fetch(
    dataset: Annotated[
        str, typer.Argument(help="Data set to download: mnist (the four IDX files).")
    ],
    data_dir: DataDirOption = Path("data"),
    mirror: Annotated[
        str | None, typer.Option("--mirror", help="Base URL holding the four .gz files.")
    ] = None,
    dest: Annotated[
        Path | None, typer.Option("--dest", help="Target folder (default: DATA_DIR/mnist).")
    ] = None,
    checksums: Annotated[
        Path | None,
        typer.Option(
            "--checksums",
            help="sha256sum-format file of the files to fetch (default: MNIST's published ones).",
        ),
    ] = None,
) -> None:
    """Download MNIST's IDX files, verify their SHA-256, store them under DATA_DIR/mnist/."""
    from pathways.data.fetch import DEFAULT_MIRROR, fetch_files, read_checksums
    from pathways.data.idx import load_idx_folder

    if dataset != "mnist":
        raise PathwaysError(f"unknown data set {dataset!r} — use mnist")
    target = dest or data_dir / "mnist"
    sums = read_checksums(checksums) if checksums else None
    with progress() as shown:
        advance = shown.task("download", total=None)
        files = fetch_files(mirror or DEFAULT_MIRROR, target, sums, on_bytes=advance, log=shown.log)
    digits = load_idx_folder(target)
    out.print(
        Text.assemble(
            f"{len(files)} files in {target}: {len(digits.labels):,} images, "
            f"classes {', '.join(map(str, digits.classes))}. Use them with ",
            ('data.source = "mnist"', "bold"),
            " in an experiment.",
        )
    )
