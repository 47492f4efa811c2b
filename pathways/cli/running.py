"""Commands that plan and run an experiment: ``init``, ``run``, ``stages``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from pathways.cli.common import (
    DEFAULT_WORKERS,
    ConfigArgument,
    DataDirOption,
    DeviceOption,
    ExecutorOption,
    ForceOption,
    OnlyOption,
    SchedulerOption,
    ShardOption,
    StoreOption,
    ThreadsOption,
    WorkersOption,
    out,
    progress,
    user_errors,
)
from pathways.errors import PathwaysError


def _packaged() -> str:
    from pathways.experiments import names

    return ", ".join(names())


_PACKAGED = _packaged()


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
    from pathways.experiment.starter import write_starter

    path, experiment = write_starter(name, template)
    out.print(
        f"wrote {path}: experiment {experiment.name!r}, a copy of the packaged {template!r} "
        f"with a comment on every key. Edit it, then run: pathways run {path}"
    )


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
    from pathways.experiment.config import experiment_folder, load_experiment
    from pathways.stages.plan import build_plan, runner_for

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
    runs_on = _executor(
        experiment, runner.plan_status(plan, only, force), threads, executor, scheduler, workers
    )
    start = time.perf_counter()
    with progress() as shown:
        statuses = runner.run(plan, only=only, force=force, progress=shown, executor=runs_on)
    _print_run(f"run {experiment.name!r} → {runner.run_dir}", statuses)
    out.print(f"done in {time.perf_counter() - start:.1f} s.")
    first = next((s.step.id for s in statuses if s.step.stage.name == "capture"), None)
    if first and (runner.run_dir / first / "activations.parquet").is_file():
        out.print("Load activations with pandas:")
        out.print(f"  pd.read_parquet({str(runner.run_dir / first / 'activations.parquet')!r})")


def _executor(
    experiment: Any,
    planned: list[Any],
    threads: int | None,
    executor: str,
    scheduler: str | None,
    workers: int | None,
) -> Any:
    """Where the run's steps run (None: in this process), checked before any step starts:
    the map method is installed, torch's threads are set when something will run."""
    if any(s.step.stage.name == "embedding" and s.action == "run" for s in planned):
        from pathways.analysis.embed import require_method

        require_method(experiment.analysis.embedding_method)  # before hours of training
    chosen_threads = None
    if any(s.action == "run" for s in planned):
        from pathways.nets.threads import configure_threads

        chosen_threads = configure_threads(threads)
    workers = workers or DEFAULT_WORKERS
    if executor == "dask":
        from pathways.engine.executors import DaskExecutor

        return DaskExecutor(scheduler, workers=workers, threads=chosen_threads or 1)
    if chosen_threads is not None and workers > 1:
        from pathways.engine.executors import ProcessExecutor

        return ProcessExecutor(workers, threads=chosen_threads)
    return None


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
        from pathways.nets.threads import cuda_available

        if not cuda_available():
            raise PathwaysError(
                "--device cuda: no CUDA device is available here — use --device cpu"
            )


@user_errors
def stages(
    config: ConfigArgument = None,
    only: OnlyOption = None,
    force: ForceOption = False,
    store: StoreOption = Path("data/store"),
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Show the steps of an experiment: which are cached and which a run would execute."""
    from pathways.experiment.config import experiment_folder, load_experiment
    from pathways.stages.plan import build_plan, runner_for

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
