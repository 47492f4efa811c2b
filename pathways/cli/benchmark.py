"""``pathways benchmark openset``: every novelty score on seeded known/unknown class splits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # only annotations: pandas loads when the benchmark runs
    import pandas as pd

from pathways.cli.common import (
    DataDirOption,
    StoreOption,
    ThreadsOption,
    out,
    progress,
    user_errors,
)


@user_errors
def benchmark_openset(
    protocol: Annotated[
        list[str] | None,
        typer.Option(
            "--protocol",
            help="mnist, fashion, pairs or fashion-rgb (a residual CNN on RGB images, by "
            "factory); repeat for several.",
        ),
    ] = None,
    models: Annotated[
        str, typer.Option(help="Model types, comma-separated (fashion-rgb runs its own).")
    ] = "mlp,lenet5,cnn",
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
    from pathways.experiment.openset import check_splits, markdown, protocols_named, summarise
    from pathways.nets.threads import configure_threads

    chosen = protocols_named(protocol or ["mnist"])
    check_splits(chosen, splits)
    types = [m.strip() for m in models.split(",") if m.strip()]
    configure_threads(threads)
    results, ran = run_splits(
        chosen, splits, types, epochs, samples_per_class, bootstrap, Path(store), Path(data_dir)
    )
    summary = summarise(results)
    folder = Path(store) / "openset"
    _write(folder, results, summary, markdown(summary))
    out.print(markdown(summary), markup=False, highlight=False)
    out.print(f"{len(results):,} rows ({ran} steps ran) → {folder}")


def run_splits(
    chosen: list[Any],
    splits: int | None,
    types: list[str],
    epochs: int,
    samples_per_class: int | None,
    bootstrap: int,
    store: Path,
    data_dir: Path,
) -> tuple[pd.DataFrame, int]:
    """Every split of every protocol (``splits`` each, or the protocol's own number) run up to
    its novelty steps, cached ones read: the results' rows and how many steps ran."""
    import pandas as pd

    from pathways.engine.steps import step_id
    from pathways.experiment.config import parse_experiment
    from pathways.experiment.openset import collect, experiment, model_names, prepare
    from pathways.stages.plan import build_plan, runner_for

    frames, ran = [], 0
    with progress() as shown:
        for p in chosen:
            prepare(p, data_dir)
            names = model_names(p, types)
            for split in range(splits or p.splits):
                config = experiment(
                    p,
                    split,
                    types,
                    epochs,
                    samples_per_class or p.samples_per_class,
                    bootstrap,
                    data_dir,
                )
                exp = parse_experiment(config, f"open-set protocol {p.name}, split {split}")
                runner = runner_for(exp, store)
                wanted = [step_id("novelty", m) for m in names]
                statuses = runner.run(
                    build_plan(exp, data_dir=data_dir), only=wanted, progress=shown
                )
                ran += sum(s.action == "run" for s in statuses)
                frames.append(collect(runner.run_dir, p.name, split, names))
    return pd.concat(frames, ignore_index=True), ran


def _write(folder: Path, results: pd.DataFrame, summary: pd.DataFrame, table: str) -> None:
    """The results, their summary and its Markdown table, each file complete or absent."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, write in {
        "results.parquet": lambda f: results.to_parquet(f, index=False),
        "summary.parquet": lambda f: summary.to_parquet(f, index=False),
        "summary.md": lambda f: Path(f).write_text(table),
    }.items():
        tmp = folder / f".{name}.tmp"
        write(tmp)
        tmp.replace(folder / name)
