"""Commands that look at runs: ``show``, ``report``, ``explore``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pathways.cli.common import StoreOption, err, out, user_errors
from pathways.errors import PathwaysError


@user_errors
def show(
    run_name: Annotated[
        str | None, typer.Argument(metavar="RUN", help="Run name (default: list the runs).")
    ] = None,
    store: StoreOption = Path("data/store"),
) -> None:
    """Summarise what a run holds: steps, files, rows, training accuracy, captured layers."""
    from pathways.engine.artifacts import read_manifest
    from pathways.store.runs import list_runs, read_run, run_path

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


@user_errors
def report(
    run_name: Annotated[str, typer.Argument(metavar="RUN", help="Run name, e.g. default.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead.")
    ] = False,
    store: StoreOption = Path("data/store"),
) -> None:
    """Answer the three questions for a run, in plain words with their figures."""
    from pathways.store.runs import read_run, run_path

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
    from pathways.store.runs import list_runs

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
    from pathways.store.parquet import reading

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
        from pathways.store.activations import layers

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
