"""What every command shares: the consoles, the option types, and turning a user's mistake into
one line (``error: …``) with exit status 2.

Every text is printed literally (the consoles have rich markup off): a message about
``[[models]]`` or a path with brackets shows them; styles are added as :class:`rich.text.Text`.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from pathways.errors import PathwaysError

out = Console(markup=False, highlight=False)
err = Console(stderr=True, markup=False, highlight=False)

StoreOption = Annotated[
    Path,
    typer.Option("--store", envvar="PATHWAYS_STORE", help="Folder holding the runs."),
]
DataDirOption = Annotated[
    Path,
    typer.Option("--data-dir", envvar="PATHWAYS_DATA", help="Folder for cached input data."),
]
ConfigArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="EXPERIMENT",
        help="Experiment .toml file, or the name of a packaged one (default: default; "
        "`pathways init --help` lists them).",
        show_default=False,
    ),
]


OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only", help="Run only this stage (data, train, capture) or step (train/mlp); repeatable."
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Re-run the selected steps even if cached.")
]
DeviceOption = Annotated[
    str, typer.Option(help="Torch device for training and capture: cpu or cuda.")
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        envvar="PATHWAYS_THREADS",
        help="torch CPU threads (default 1: these small networks rarely gain from more).",
    ),
]
ExecutorOption = Annotated[
    str, typer.Option(help="Where steps run: local (this process) or dask (a Dask cluster).")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address (tcp://host:8786); default: a LocalCluster here."),
]
DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)
"""Worker processes of a run unless told: the default experiment ran in 22.8 s on 2 workers
against 40.9 s in one process on 2 cores (README "Local worker processes")."""
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        envvar="PATHWAYS_WORKERS",
        help="Worker processes: a run's steps run on them, several at once (1: every step in "
        "this process, in order); with --executor dask, the LocalCluster's. Default: the "
        "machine's cores, at most 4.",
    ),
]
ShardOption = Annotated[
    int,
    typer.Option(
        min=1, help="With --executor dask: captures of more samples are split into shards."
    ),
]


_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def _os_error_line(exc: OSError) -> str:
    """What a failed read or write of the store means for the user, and what to do."""
    if exc.errno in _NO_SPACE or "No space left" in str(exc) or "File too large" in str(exc):
        return (
            f"no room to write the outputs ({exc.strerror or exc}) — free disk space or use "
            "another --store; earlier outputs are intact"
        )
    if exc.errno == errno.EROFS:
        return f"{exc.filename or 'the store'}: read-only file system — use a writable --store"
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc} — check the path and its permissions"


def progress() -> Any:
    """Progress on stderr: live bars on a terminal, plain lines in a log file."""
    from pathways.engine.progress import LineProgress, RichProgress

    return (RichProgress if err.is_terminal else LineProgress)(err)


def _print_error(line: str) -> None:
    """``error: LINE`` on stderr, the line as written (one line: breaks become spaces)."""
    err.print(Text.assemble(("error:", "bold red"), " ", " ".join(line.split())), soft_wrap=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn PathwaysError into one line on stderr and exit status 2; Ctrl-C into status 130.

    SIGTERM (``kill``, ``timeout``) stops a command as Ctrl-C does: the run's worker processes
    are ended with it and the unfinished step's outputs discarded (before, Python's default
    ended the main process alone and left its workers computing)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, _interrupt)
            return command(*args, **kwargs)
        except PathwaysError as exc:
            _print_error(str(exc))
            raise typer.Exit(2) from None
        except OSError as exc:
            _print_error(_os_error_line(exc))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted — outputs of the unfinished step were discarded")
            raise typer.Exit(130) from None

    return wrapper
