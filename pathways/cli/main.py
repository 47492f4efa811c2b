"""The ``pathways`` command: run experiments, see what is cached, inspect runs.

Every problem the user can fix is printed as one line (``error: …``) with exit status 2
(:func:`pathways.cli.common.user_errors`); each command lives in the module of its kind.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from pathways import __version__
from pathways.cli import benchmark, fetch, results, running
from pathways.cli.common import out

app = typer.Typer(
    name="pathways",
    help="Find the activation signatures and paths each class follows through a network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            torch = version("torch")
        except PackageNotFoundError:
            torch = "not installed"
        python = ".".join(map(str, sys.version_info[:3]))
        out.print(f"pathways {__version__} (Python {python}, torch {torch})")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Find the activation signatures and paths each class follows through a network."""


for command in (
    running.init,
    running.run,
    running.stages,
    results.show,
    results.report,
    results.explore,
):
    app.command()(command)
data_app = typer.Typer(help="Get data sets.", no_args_is_help=True)
data_app.command("fetch")(fetch.data_fetch)
app.add_typer(data_app, name="data")
benchmark_app = typer.Typer(help="Benchmarks of the analyses.", no_args_is_help=True)
benchmark_app.command("openset")(benchmark.benchmark_openset)
app.add_typer(benchmark_app, name="benchmark")


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app(prog_name="pathways")


if __name__ == "__main__":
    sys.exit(main())
