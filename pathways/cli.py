"""The ``pathways`` command: run experiments, see what is cached, inspect runs.

Every problem the user can fix is printed as one line (``error: …``) with exit status 2.
Every text is printed literally (the consoles have rich markup off): a message about
``[[models]]`` or a path with brackets shows them; styles are added as :class:`rich.text.Text`.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pathways import __version__
from pathways.errors import PathwaysError

app = typer.Typer(
    name="pathways",
    help="Find the activation signatures and paths each class follows through a network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
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


def _progress() -> Any:
    """Progress on stderr: live bars on a terminal, plain lines in a log file."""
    from pathways.progress import LineProgress, RichProgress

    return (RichProgress if err.is_terminal else LineProgress)(err)


def _print_error(line: str) -> None:
    """``error: LINE`` on stderr, the line as written (one line: breaks become spaces)."""
    err.print(Text.assemble(("error:", "bold red"), " ", " ".join(line.split())), soft_wrap=True)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn PathwaysError into one line on stderr and exit status 2; Ctrl-C into status 130."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
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


def _packaged() -> str:
    from pathways.experiments import names

    return ", ".join(names())


_PACKAGED = _packaged()


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


@app.command()
@user_errors
def init(
    name: Annotated[
        str,
        typer.Argument(
            help="Name of the new experiment: writes NAME.toml here (a path ending in .toml "
            "is used as given)."
        ),
    ] = "my-experiment",
    template: Annotated[
        str,
        typer.Option("--from", help=f"Packaged experiment to copy: {_PACKAGED}."),
    ] = "default",
) -> None:
    """Write a commented copy of a packaged experiment to edit; an existing file is kept."""
    from pathways.starter import write_starter

    path, experiment = write_starter(name, template)
    out.print(
        f"wrote {path}: experiment {experiment.name!r}, a copy of the packaged {template!r} "
        f"with a comment on every key. Edit it, then run: pathways run {path}"
    )


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


@app.command()
@user_errors
def run(
    config: ConfigArgument = None,
    only: OnlyOption = None,
    force: ForceOption = False,
    device: DeviceOption = "cpu",
    threads: ThreadsOption = None,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    workers: WorkersOption = None,
    shard_samples: ShardOption = 20_000,
    store: StoreOption = Path("data/store"),
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Run an experiment's pipeline; steps whose outputs are cached are skipped."""
    from pathways.config import experiment_folder, load_experiment
    from pathways.pipeline import build_plan, runner_for

    experiment = load_experiment(config)
    _check_device(device)
    if executor not in {"local", "dask"}:
        raise PathwaysError(f"--executor {executor!r} is unknown — use local or dask")
    if scheduler and executor != "dask":
        raise PathwaysError("--scheduler needs --executor dask")
    plan = build_plan(
        experiment,
        data_dir=data_dir,
        device=device,
        shard_samples=shard_samples,
        experiment_dir=experiment_folder(config),
    )
    runner = runner_for(experiment, store)
    chosen_threads = None
    planned = runner.plan_status(plan, only, force)
    maps = any(s.step.stage.name == "embedding" and s.action == "run" for s in planned)
    if maps:
        from pathways.analysis.embed import require_method

        require_method(experiment.analysis.embedding_method)  # before hours of training
    if any(s.action == "run" for s in planned):
        from pathways.threads import configure_threads

        chosen_threads = configure_threads(threads)
    runs_on = None
    workers = workers or DEFAULT_WORKERS
    if executor == "local" and chosen_threads is not None and workers > 1:
        from pathways.executors import ProcessExecutor

        runs_on = ProcessExecutor(workers, threads=chosen_threads)
    if executor == "dask":
        from pathways.executors import DaskExecutor

        runs_on = DaskExecutor(scheduler, workers=workers, threads=chosen_threads or 1)
    start = time.perf_counter()
    with _progress() as progress:
        statuses = runner.run(plan, only=only, force=force, progress=progress, executor=runs_on)
    _print_run(f"run {experiment.name!r} → {runner.run_dir}", statuses)
    out.print(f"done in {time.perf_counter() - start:.1f} s.")
    first = next((s.step.id for s in statuses if s.step.stage.name == "capture"), None)
    if first and (runner.run_dir / first / "activations.parquet").is_file():
        out.print("Load activations with pandas:")
        out.print(f"  pd.read_parquet({str(runner.run_dir / first / 'activations.parquet')!r})")


def _print_run(title: str, statuses: list[Any]) -> None:
    """The steps of a run: ran, cached or not selected, with their seconds."""
    table = Table("step", "key", "result", "seconds", title=title)
    results = {
        "run": Text("ran", style="green"),
        "cached": Text("cached"),
        "skip": Text("not selected", style="dim"),
    }
    for s in statuses:
        seconds = f"{s.seconds:.1f}" if s.seconds is not None else ""
        table.add_row(s.step.id, s.key, results[s.action], seconds)
    out.print(table)


def _check_device(device: str) -> None:
    if device not in {"cpu", "cuda"} and not device.startswith("cuda:"):
        raise PathwaysError(f"--device {device!r} is unknown — use cpu or cuda")
    if device.startswith("cuda"):
        from pathways.threads import cuda_available

        if not cuda_available():
            raise PathwaysError(
                "--device cuda: no CUDA device is available here — use --device cpu"
            )


@app.command()
@user_errors
def stages(
    config: ConfigArgument = None,
    only: OnlyOption = None,
    force: ForceOption = False,
    store: StoreOption = Path("data/store"),
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Show the steps of an experiment: which are cached and which a run would execute."""
    from pathways.config import experiment_folder, load_experiment
    from pathways.pipeline import build_plan, runner_for

    experiment = load_experiment(config)
    runner = runner_for(experiment, store)
    plan = build_plan(experiment, data_dir=data_dir, experiment_dir=experiment_folder(config))
    table = Table(
        "step",
        "stage",
        "key",
        "cached",
        "a run would",
        title=f"experiment {experiment.name!r} → {runner.run_dir}",
    )
    actions = {
        "run": Text("run", style="yellow"),
        "cached": Text("skip (cached)"),
        "skip": Text("skip (not selected)", style="dim"),
    }
    for s in runner.plan_status(plan, only, force):
        action = actions[s.action]
        table.add_row(
            s.step.id,
            f"{s.step.stage.name} v{s.step.stage.version}",
            s.key,
            "yes" if s.cached else "no",
            action,
        )
    out.print(table)


@app.command()
@user_errors
def show(
    run_name: Annotated[
        str | None, typer.Argument(metavar="RUN", help="Run name (default: list the runs).")
    ] = None,
    store: StoreOption = Path("data/store"),
) -> None:
    """Summarise what a run holds: steps, files, rows, training accuracy, captured layers."""
    from pathways.artifacts import read_manifest
    from pathways.runs import list_runs, read_run, run_path

    if run_name is None:
        runs = list_runs(store)
        if not runs:
            raise PathwaysError(f"no runs in {store} — run `pathways run` first")
        for name in runs:
            out.print(name)
        return
    record = read_run(store, run_name)
    folder = run_path(store, run_name)
    experiment = record.get("experiment", {})
    out.print(
        Text.assemble(
            (f"run {run_name}", "bold"), f" ({folder}) — updated {record.get('updated_at', '?')}"
        )
    )
    if experiment.get("description"):
        out.print(experiment["description"])
    out.print(
        f"trained classes {experiment.get('trained_classes')}, unseen {experiment.get('unseen_classes')}, "
        f"data {experiment.get('data', {}).get('source')}"
    )
    table = Table("step", "key", "seconds", "outputs", "summary")
    for step_id, info in record.get("steps", {}).items():
        manifest_path = folder / step_id / "manifest.json"
        if not manifest_path.is_file():
            missing = Text("missing", style="red")
            table.add_row(step_id, info["key"], "", missing, "re-run `pathways run`")
            continue
        try:
            manifest = read_manifest(manifest_path.parent)
        except ValueError:
            table.add_row(step_id, info["key"], "", Text("damaged", style="red"), "re-run it")
            continue
        outputs = ", ".join(
            f"{name} ({o['rows']:,} rows)" if "rows" in o else name
            for name, o in manifest["outputs"].items()
        )
        table.add_row(
            step_id,
            manifest["key"],
            f"{manifest['seconds']:.1f}",
            outputs,
            _summary_or_note(folder / step_id, manifest),
        )
    out.print(table)


@app.command()
@user_errors
def report(
    run_name: Annotated[str, typer.Argument(metavar="RUN", help="Run name, e.g. default.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead.")
    ] = False,
    store: StoreOption = Path("data/store"),
) -> None:
    """Answer the three questions for a run, in plain words with their figures."""
    from pathways.runs import read_run, run_path

    record = read_run(store, run_name)
    folder = run_path(store, run_name) / "report"
    if "report" not in record.get("steps", {}) or not (folder / "report.json").is_file():
        raise PathwaysError(
            f"run {run_name!r} has no report yet — run `pathways run` for its experiment to finish the analysis"
        )
    if as_json:
        print((folder / "report.json").read_text())
        return
    from pathways.analysis.report_terminal import piped_width, read_report, terminal_report

    width = out.width if out.is_terminal else piped_width(os.environ)
    shown = Console(width=width, markup=False, highlight=False)
    shown.print(terminal_report(read_report(folder / "report.json"), width))
    shown.print(f"\nWritten as {folder / 'report.md'} and {folder / 'report.json'}")


@app.command()
@user_errors
def explore(
    store: Annotated[
        Path, typer.Argument(envvar="PATHWAYS_STORE", help="Store folder (default data/store).")
    ] = Path("data/store"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8050,
    debug: Annotated[
        bool, typer.Option("--debug", help="Dash debug mode (reloader, error overlay).")
    ] = False,
) -> None:
    """Start the Dash explorer on http://HOST:PORT over the runs of STORE."""
    from pathways.runs import list_runs

    if Path(store).is_file():
        raise PathwaysError(
            f"{store} is a file, not a store folder — give the folder that holds the run "
            "folders (e.g. data/store)"
        )
    if not Path(store).is_dir():
        raise PathwaysError(
            f"{store}: no such store folder — run `pathways run` first or give the store path"
        )
    if not list_runs(store):
        err.print(
            f"note: no runs in {store} yet — the page will say so until `pathways run` has finished"
        )
    from pathways.app import create_app

    out.print(f"pathways explorer on http://{host}:{port}/ (Ctrl-C to stop)")
    create_app(store).run(host=host, port=port, debug=debug)


def _summary_or_note(folder: Path, manifest: dict[str, Any]) -> str:
    """The step's one-line summary, or what is wrong with its files."""
    from pathways.errors import StoreError
    from pathways.parquet_io import reading

    try:
        with reading(folder, "re-run the step with `pathways run --only STEP --force`"):
            return _step_summary(folder, manifest)
    except StoreError as exc:
        return str(exc)
    except (KeyError, IndexError) as exc:  # an output without the column or row it should have
        return f"cannot summarise its outputs (missing {exc}) — re-run the step with --force"


def _step_summary(folder: Path, manifest: dict[str, Any]) -> str:
    import pyarrow.parquet as pq

    if manifest["stage"] == "train":
        history = pq.read_table(folder / "history.parquet").to_pandas()
        last = history[history["epoch"] == history["epoch"].max()].set_index("split")["accuracy"]
        return f"accuracy train {last['train']:.3f} / test {last['test']:.3f}"
    if manifest["stage"] == "capture":
        from pathways.store import layers

        found = layers(folder / "activations.parquet")
        return ", ".join(f"{layer.name} ({len(layer.units)})" for layer in found)
    if manifest["stage"] == "divergence":
        chosen = pq.read_table(folder / "divergence_layer.parquet").to_pandas()
        return ", ".join(
            f"{r.class_a} vs {r.class_b} from "
            f"{r.divergence_layer if isinstance(r.divergence_layer, str) else 'no layer'}"
            for r in chosen.itertuples()
        )
    if manifest["stage"] == "novelty":
        from pathways.analysis.novelty_scores import NOVELTY_SCORES

        metrics = pq.read_table(folder / "metrics.parquet").to_pandas()
        single = metrics[metrics["method"].isin(NOVELTY_SCORES)]  # one method each, no layers
        return "AUROC " + ", ".join(
            f"{r.method}{' (ours)' if r.kind == 'ours' else ''} {r.auroc:.3f}"
            for r in single.itertuples()
        )
    if manifest["stage"] == "clusters":
        summary = pq.read_table(folder / "cluster_summary.parquet").to_pandas()
        return ", ".join(f"{r.layer}: {r.n_clusters}" for r in summary.itertuples()) + " clusters"
    if manifest["stage"] == "data":
        samples = pq.read_table(folder / "samples.parquet", columns=["label", "seen"]).to_pandas()
        counts = samples.groupby("label").size()
        return " ".join(f"{label}:{n}" for label, n in counts.items())
    return ""


data_app = typer.Typer(help="Get data sets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("fetch")
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
    with _progress() as progress:
        advance = progress.task("download", total=None)
        files = fetch_files(
            mirror or DEFAULT_MIRROR, target, sums, on_bytes=advance, log=progress.log
        )
    digits = load_idx_folder(target)
    out.print(
        Text.assemble(
            f"{len(files)} files in {target}: {len(digits.labels):,} images, "
            f"classes {', '.join(map(str, digits.classes))}. Use them with ",
            ('data.source = "mnist"', "bold"),
            " in an experiment.",
        )
    )


benchmark_app = typer.Typer(help="Benchmarks of the analyses.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("openset")
@user_errors
def benchmark_openset(
    protocol: Annotated[
        list[str] | None,
        typer.Option("--protocol", help="mnist, fashion or pairs (repeat for several)."),
    ] = None,
    models: Annotated[str, typer.Option(help="Model types, comma-separated.")] = "mlp,lenet5",
    splits: Annotated[
        int | None, typer.Option(min=1, help="Splits per protocol (default: its own, 5).")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 5,
    samples_per_class: Annotated[
        int | None, typer.Option(min=2, help="At most this many samples per class.")
    ] = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples per split.")] = 1000,
    threads: ThreadsOption = None,
    store: StoreOption = Path("data/store"),
    data_dir: DataDirOption = Path("data"),
) -> None:
    """The open-set benchmark: every novelty score on seeded known/unknown class splits
    (cached and resumable; results in STORE/openset/)."""
    import pandas as pd

    from pathways.config import parse_experiment
    from pathways.openset import (
        check_splits,
        collect,
        experiment,
        markdown,
        protocols_named,
        summarise,
    )
    from pathways.pipeline import build_plan, runner_for
    from pathways.planning import step_id
    from pathways.threads import configure_threads

    chosen = protocols_named(protocol or ["mnist"])
    check_splits(chosen, splits)
    types = [m.strip() for m in models.split(",") if m.strip()]
    configure_threads(threads)
    frames, ran = [], 0
    with _progress() as progress:
        for p in chosen:
            for split in range(splits or p.splits):
                config = experiment(
                    p, split, types, epochs, samples_per_class or p.samples_per_class, bootstrap
                )
                exp = parse_experiment(config, f"open-set protocol {p.name}, split {split}")
                runner = runner_for(exp, store)
                wanted = [step_id("novelty", m) for m in types]
                statuses = runner.run(
                    build_plan(exp, data_dir=data_dir), only=wanted, progress=progress
                )
                ran += sum(s.action == "run" for s in statuses)
                frames.append(collect(runner.run_dir, p.name, split, types))
    results = pd.concat(frames, ignore_index=True)
    summary = summarise(results)
    folder = Path(store) / "openset"
    folder.mkdir(parents=True, exist_ok=True)
    for name, write in {
        "results.parquet": lambda f: results.to_parquet(f, index=False),
        "summary.parquet": lambda f: summary.to_parquet(f, index=False),
        "summary.md": lambda f: Path(f).write_text(markdown(summary)),
    }.items():
        tmp = folder / f".{name}.tmp"
        write(tmp)
        tmp.replace(folder / name)
    out.print(markdown(summary), markup=False, highlight=False)
    out.print(f"{len(results):,} rows ({ran} steps ran) → {folder}")


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app(prog_name="pathways")


if __name__ == "__main__":
    sys.exit(main())
