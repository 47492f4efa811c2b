"""Read-only, cached access to the runs of a store, for the explorer.

Everything is read from the Parquet outputs the pipeline wrote; nothing is computed that the
pipeline did not compute, except cheap joins. Results are cached per (run, model) so that
switching layer or colouring touches memory only.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pathways.data.subsets import read_samples
from pathways.engine.steps import step_id
from pathways.errors import StoreError
from pathways.store.activations import SAMPLE_FIELDS
from pathways.store.runs import list_runs, read_run, run_path

ANALYSIS = ("capture", "signatures", "clusters", "paths", "divergence", "novelty")
"""The steps a model's views need. Its 2-D maps (``embedding``) are not among them: a run
makes them after the report, and the Embedding view shows them when they land."""


class StoreReader:
    """The runs of one store. All methods raise :class:`StoreError` with a message for people.

    What it reads is cached per version of the run: a run's record (``run.json``) is rewritten
    at the end of every ``pathways run``, and its modification time is part of each cache key,
    so an explorer left open shows a re-run's outputs once that run has finished.
    """

    def __init__(self, store: str | Path) -> None:
        self.store = Path(store)
        self._table = lru_cache(maxsize=256)(self._read_table)
        self._images = lru_cache(maxsize=8)(self._read_images)
        self._checked = lru_cache(maxsize=256)(self._check_step)

    # -- runs and models ---------------------------------------------------------------------
    def runs(self) -> list[str]:
        return list_runs(self.store)

    def models(self, run: str) -> list[str]:
        record = read_run(self.store, run)
        models = [
            step.split("/", 1)[1]
            for step in record.get("steps", {})
            if step.startswith("capture/") and "@" not in step
        ]
        if not models:
            raise StoreError(f"run {run!r} has no captured model yet — run `pathways run` for it")
        return models

    def check_model(self, run: str, model: str) -> None:
        """Raise a clear error when a model's analysis outputs are missing (incomplete run)."""
        missing = [
            s
            for s in ANALYSIS
            if not (run_path(self.store, run) / s / model / "manifest.json").is_file()
        ]
        if missing:
            raise StoreError(
                f"run {run!r} is incomplete for model {model!r}: no {', '.join(missing)} output — "
                "finish it with `pathways run`"
            )

    def _version(self, run: str) -> int:
        try:
            return (run_path(self.store, run) / "run.json").stat().st_mtime_ns
        except OSError:
            return 0

    def _path(self, run: str, step: str, name: str) -> Path:
        path = run_path(self.store, run) / step / f"{name}.parquet"
        if not path.is_file():
            raise StoreError(f"run {run!r} has no {step}/{name} — finish it with `pathways run`")
        self._checked(run, step, self._version(run))
        return path

    def _check_step(self, run: str, step: str, version: int) -> None:
        """The step's Parquet files are those its manifest records (footer, columns, rows)."""
        from pathways.engine.artifacts import Artifact

        folder = run_path(self.store, run) / step
        if (folder / "manifest.json").is_file():
            Artifact(folder).check_readable(step)

    def _read_table(
        self, run: str, step: str, name: str, columns: tuple[str, ...] | None, version: int
    ) -> pd.DataFrame:
        path = self._path(run, step, name)
        try:
            return pq.read_table(path, columns=list(columns) if columns else None).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise StoreError(
                f"{path}: cannot be read ({str(exc).splitlines()[0]}) — re-run step {step} with "
                f"`pathways run --only {step} --force`"
            ) from None

    def table(
        self, run: str, step: str, name: str, columns: tuple[str, ...] | None = None
    ) -> pd.DataFrame:
        return self._table(run, step, name, columns, self._version(run))

    # -- per-model views ---------------------------------------------------------------------
    def samples(self, run: str, model: str) -> pd.DataFrame:
        """sample_id, source_index, label, split, seen, predicted_class, confidence, correct.

        Cached (hover and selection ask for it on every event): treat it as read-only."""
        return self._samples(run, model, self._version(run))

    @lru_cache(maxsize=16)  # noqa: B019 - the reader lives as long as the app
    def _samples(self, run: str, model: str, version: int) -> pd.DataFrame:
        frame = self.table(
            run, step_id("capture", model), "activations", tuple(SAMPLE_FIELDS)
        ).copy()
        frame["split"] = frame["split"].astype(str)
        frame["correct"] = np.where(
            frame["seen"], frame["label"] == frame["predicted_class"], False
        )
        return frame

    def classes(self, run: str) -> tuple[list[int], list[int]]:
        """The trained classes' integer labels in the order of the networks' outputs (as the
        first model was trained) and the unseen ones', from the run's samples."""
        names = self._class_table(run, self._version(run))
        trained = sorted(names.loc[names.seen, "label"])
        models = read_run(self.store, run).get("experiment", {}).get("models", [])
        try:
            order = self.json(run, step_id("train", models[0]["name"]), "model")["classes"]
            trained = [int(c) for c in order] if sorted(order) == trained else trained
        except (StoreError, IndexError, KeyError, TypeError):
            pass  # an incomplete run: sorted labels
        return trained, sorted(names.loc[~names.seen, "label"])

    def class_names(self, run: str) -> dict[int, str]:
        """Label → the source's name of the class (a folder's name; the number for digits)."""
        names = self._class_table(run, self._version(run))
        return dict(zip(names["label"], names["class_name"], strict=True))

    @lru_cache(maxsize=16)  # noqa: B019 - the reader lives as long as the app
    def _class_table(self, run: str, version: int) -> pd.DataFrame:
        frame = self.table(run, "data", "samples", ("label", "class_name", "seen"))
        table = frame.drop_duplicates("label").copy()
        table["label"] = table["label"].astype(int)
        table["class_name"] = table["class_name"].astype(str)
        return table.sort_values("label").reset_index(drop=True)

    def layers(self, run: str, model: str) -> list[str]:
        """Analysis layers, input side first — from the activation table's metadata (no rows read)."""
        from pathways.store.reading import layer_names

        return layer_names(self._path(run, step_id("capture", model), "activations"))

    def maps_pending(self, run: str, model: str) -> bool:
        """The model's 2-D maps are not in the store (yet: a run makes them last)."""
        folder = run_path(self.store, run) / step_id("embedding", model)
        return not (folder / "manifest.json").is_file()

    def embedding(self, run: str, model: str, layer: str) -> pd.DataFrame:
        """sample_id, x, y, cluster, outlier + the sample columns, for one layer."""
        if self.maps_pending(run, model):
            raise StoreError(
                f"no 2-D maps of {model} yet: a run makes them after the report,<br>"
                "and this view shows them when they land (no run going on? `pathways run`)"
            )
        maps = self._embedding(run, model, self._version(run))
        if layer not in maps:
            analysis = read_run(self.store, run).get("experiment", {}).get("analysis", {})
            setting = analysis.get("map_layers", "all")
            raise StoreError(
                f"layer {layer} has no 2-D map: analysis.map_layers = {setting!r} mapped "
                f'{", ".join(maps)}<br>— set map_layers = "all" (or how many of the last '
                "layers) and run again to map it"
            )
        return maps[layer]

    @lru_cache(maxsize=16)  # noqa: B019 - the reader lives as long as the app
    def _embedding(self, run: str, model: str, version: int) -> dict[str, pd.DataFrame]:
        embedding = self.table(run, step_id("embedding", model), "embedding")
        clusters = self.table(
            run,
            step_id("clusters", model),
            "assignments",
            ("sample_id", "layer", "cluster", "outlier"),
        )
        samples = self.samples(run, model).set_index("sample_id")
        out = {}
        for layer, part in embedding.groupby("layer", sort=False):
            frame = part.drop(columns="layer").set_index("sample_id")
            c = clusters[clusters.layer == layer].set_index("sample_id")
            frame = frame.join(c[["cluster", "outlier"]]).join(samples)
            out[str(layer)] = frame.reset_index()
        return out

    def cluster_composition(self, run: str, model: str) -> pd.DataFrame:
        """layer, cluster, class, n, share: every cluster's members by class (all samples)."""
        return self.table(run, step_id("clusters", model), "composition")

    def dead_units(self, run: str, model: str) -> dict[str, list[str]]:
        """layer → its units that never vary over the run's samples (the clusters step's
        ``unit_groups``; constant, e.g. a ReLU that never fires)."""
        groups = self.table(
            run, step_id("clusters", model), "unit_groups", ("layer", "unit", "dead")
        )
        dead = groups[groups["dead"]]
        return {
            str(k): v["unit"].astype(str).tolist() for k, v in dead.groupby("layer", sort=False)
        }

    def map_quality(self, run: str, model: str) -> dict[str, dict[str, Any]]:
        """layer → method, checked, preservation, trustworthiness of its 2-D map ({} for a
        run made before maps recorded their quality)."""
        step = step_id("embedding", model)
        if not self._path(run, step, "map_quality").is_file():
            return {}
        table = self.table(run, step, "map_quality")
        return {str(row.pop("layer")): row for row in table.to_dict("records")}

    def signatures(self, run: str, model: str) -> pd.DataFrame:
        return self.table(run, step_id("signatures", model), "signatures")

    def differences(self, run: str, model: str) -> pd.DataFrame:
        return self.table(run, step_id("signatures", model), "differences")

    def divergence(self, run: str, model: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            self.table(run, step_id("divergence", model), "divergence"),
            self.table(run, step_id("divergence", model), "divergence_layer"),
        )

    def transitions(self, run: str, model: str) -> pd.DataFrame:
        return self.table(run, step_id("paths", model), "transitions")

    def sample_paths(self, run: str, model: str) -> pd.DataFrame:
        return self.table(run, step_id("paths", model), "sample_paths")

    def path_distribution(self, run: str, model: str) -> pd.DataFrame:
        return self.table(run, step_id("paths", model), "distribution")

    def novelty(self, run: str, model: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        return self.table(run, step_id("novelty", model), "scores"), self.table(
            run, step_id("novelty", model), "metrics"
        )

    def novelty_pvalues(self, run: str, model: str) -> pd.DataFrame:
        """Every score's conformal p-value of every sample (by sample_id)."""
        return self.table(run, step_id("novelty", model), "pvalues")

    def novelty_target(self, run: str, model: str) -> float | None:
        """The run's target false discovery rate (``analysis.novelty_fdr``; None before flags)."""
        try:
            decisions = self.table(run, step_id("novelty", model), "decisions", ("alpha",))
        except StoreError:
            return None
        return float(decisions["alpha"].iloc[0]) if len(decisions) else None

    def novelty_reasons(self, run: str, model: str) -> pd.DataFrame:
        """Each sample's reason: the default score's heaviest part and its units."""
        return self.table(run, step_id("novelty", model), "reasons")

    def novelty_by_class(self, run: str, model: str) -> pd.DataFrame:
        """Each unseen class's own novelty metrics (with bootstrap intervals)."""
        return self.table(run, step_id("novelty", model), "metrics_by_class")

    def layer_values(self, run: str, model: str, layer: str) -> tuple[list[str], np.ndarray]:
        from pathways.store.reading import load_layer

        data = load_layer(self._path(run, step_id("capture", model), "activations"), layer)
        return data.units, data.values

    def interventions(self, run: str, model: str) -> dict[str, Any]:
        """The interventions step's tables (``ablation``, ``ablation_summary``,
        ``patching_summary``, ``route_summary``) and its ``settings``."""
        step = step_id("interventions", model)
        if not (run_path(self.store, run) / step / "manifest.json").is_file():
            raise StoreError(
                f"run {run!r} has no {step} output — run `pathways run` for its experiment "
                "(a run made before the stage existed gains it then)"
            )
        found: dict[str, Any] = {
            name: self.table(run, step, name)
            for name in ("ablation", "ablation_summary", "patching_summary", "route_summary")
        }
        return found | {"settings": self.json(run, step, "settings")}

    def strategies(self, run: str, model: str) -> dict[str, Any]:
        """The strategies step's tables (``classes``, ``strategies``, ``members``), its
        ``settings`` and its ``mean_maps`` (memory-mapped)."""
        step = step_id("strategies", model)
        folder = run_path(self.store, run) / step
        if not (folder / "manifest.json").is_file():
            raise StoreError(
                f"run {run!r} has no {step} output — run `pathways run` for its experiment "
                "(a run made before the stage existed gains it then)"
            )
        found: dict[str, Any] = {
            name: self.table(run, step, name) for name in ("classes", "strategies", "members")
        }
        maps = np.load(folder / "mean_maps.npy", mmap_mode="r", allow_pickle=False)
        return found | {"settings": self.json(run, step, "settings"), "mean_maps": maps}

    # -- CNN interpretation and rotation ---------------------------------------------------
    def explain_array(self, run: str, model: str, name: str) -> np.ndarray:
        """One array of ``explain/MODEL`` (memory-mapped: a view reads only what it shows)."""
        step = step_id("explain", model)
        path = run_path(self.store, run) / step / f"{name}.npy"
        if not path.is_file():
            raise StoreError(
                f"run {run!r} has no {step} output — maps exist for the CNN model types; "
                "finish the run with `pathways run`"
            )
        return np.load(path, mmap_mode="r", allow_pickle=False)

    def explained(self, run: str, model: str) -> pd.DataFrame:
        if not (run_path(self.store, run) / step_id("explain", model) / "manifest.json").is_file():
            raise StoreError(
                f"no explain maps for model {model!r} — maps exist for the CNN model types; "
                "the rotation study is below"
            )
        return self.table(run, step_id("explain", model), "explained")

    def explain_clusters(self, run: str, model: str) -> pd.DataFrame:
        return self.table(run, step_id("explain", model), "clusters")

    def json(self, run: str, step: str, name: str) -> dict:
        """The JSON output ``name`` of ``step``."""
        import json

        path = run_path(self.store, run) / step / f"{name}.json"
        if not path.is_file():
            raise StoreError(f"run {run!r} has no {step} output")
        try:
            return json.loads(path.read_text())
        except ValueError:
            raise StoreError(
                f"{path}: damaged — re-run `pathways run --only {step} --force`"
            ) from None

    def explain_settings(self, run: str, model: str) -> dict:
        return self.json(run, step_id("explain", model), "settings")

    def rotation(self, run: str, model: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The rotation study: ``curves``, ``drift`` and ``drift_layers``."""
        step = step_id("rotation", model)
        return (
            self.table(run, step, "curves"),
            self.table(run, step, "drift"),
            self.table(run, step, "drift_layers"),
        )

    # -- images ------------------------------------------------------------------------------
    def _read_images(self, run: str, version: int) -> np.ndarray:
        return read_samples(self._path(run, "data", "samples"))[1]

    def image(self, run: str, sample_id: int) -> np.ndarray:
        return self._images(run, self._version(run))[int(sample_id)]

    def image_uri(self, run: str, sample_id: int, scale: int = 3) -> str:
        """A data: URI of the image (grey or RGB) as PNG, scaled up ``scale`` times (nearest
        neighbour; small images more, so that a thumbnail is at least 48 pixels wide)."""
        from PIL import Image

        image = self.image(run, sample_id)
        scale = max(scale, -(-48 // image.shape[1]))
        pixels = image.repeat(scale, axis=0).repeat(scale, axis=1)
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
