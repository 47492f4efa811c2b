"""Cached, atomic execution of pipeline steps.

A *step* is one application of a stage (``train/mlp`` applies the ``train`` stage to the model
``mlp``). Its *key* hashes (stage name, stage version, canonical parameters, upstream keys), so a
second run of the same config finds every key in place and skips everything, and changing one
parameter re-runs exactly the steps downstream of it.

Each step's outputs live in ``RUN/<step id>/`` with a ``manifest.json`` (key, parameters,
upstream keys, library versions, timings, files and row counts). They are written into
``RUN/.tmp/`` first and renamed into place only when complete, so an interrupted run leaves no
half-written output. A lock file serialises runs on the same run folder.

Stage functions are plain: ``func(inputs, params, progress) -> {output name: value}``. They do
not know paths: the runner hands them upstream outputs (loaded on first access) and saves what
they return — DataFrames and Arrow tables as Parquet, dicts as JSON, NumPy arrays as ``.npy``,
bytes as they are.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from pathways import __version__, faults
from pathways.errors import StoreError
from pathways.progress import Progress, Silent, StepProgress
from pathways.store import PROVENANCE_KEY

MANIFEST = "manifest.json"
STORE_FORMAT = 1
"""Version of the store's layout; a run written with a higher one is refused, never overwritten."""
_LIBRARIES = ("torch", "numpy", "pandas", "pyarrow", "scikit-learn")


@dataclass(frozen=True)
class Stage:
    """A stage: its name, version (bump it when its code changes results) and function path."""

    name: str
    version: int
    func: str | Callable[..., dict[str, Any]]
    """The function, or ``"module:function"`` to import it only when the stage runs (keeps
    cached runs from importing torch)."""

    def load(self) -> Callable[..., dict[str, Any]]:
        if callable(self.func):
            return self.func
        module, _, name = self.func.partition(":")
        return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Step:
    """One stage applied with given parameters to given upstream steps."""

    id: str
    stage: Stage
    params: Mapping[str, Any]
    upstream: Mapping[str, str] = field(default_factory=dict)
    """Input name → id of the step that produces it."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Run-time settings (device, cache folder) passed with the parameters but not part of the
    key: they change where or how fast a step runs, not what it means."""


class StreamSource:
    """Tables produced batch by batch by one pass (e.g. capture), for one or more outputs.

    A stage returns ``source.output(name)`` for each output; the runner drives the pass once
    and appends each batch's tables to their Parquet files as they come, so a step's peak memory
    is a few batches, not its whole output. Batches are gathered into row groups of about
    ``group_bytes``.
    """

    def __init__(self, batches: Iterable[Mapping[str, pa.Table]], group_bytes: int = 16 << 20):
        self.batches = batches
        self.group_bytes = group_bytes

    def output(self, name: str) -> TableStream:
        return TableStream(self, name)


@dataclass(frozen=True)
class TableStream:
    """One Parquet output of a :class:`StreamSource`."""

    source: StreamSource
    name: str


@dataclass(frozen=True)
class Partitioned:
    """A hive-partitioned Parquet dataset: ``NAME/k1=v1/k2=v2/part-0.parquet`` per part.

    ``parts`` yields (partition values, table); readers filter on the keys (DuckDB
    ``hive_partitioning``, Dask/pyarrow ``filters``) without opening other parts.
    """

    parts: Iterable[tuple[Mapping[str, Any], pa.Table]]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def library_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "pathways": __version__}
    for lib in _LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return versions


def schema_fingerprint(meta: pq.FileMetaData) -> str:
    """A short hash of a Parquet file's columns as its footer declares them (path, physical and
    logical type): the file format's own description, the same whichever pyarrow reads it.
    Manifests store it as ``parquet_schema``; a new definition must use a new key, so that
    manifests holding the old one are not taken for replaced files."""
    text = "\n".join(
        f"{column.path}: {column.physical_type} {column.logical_type}" for column in meta.schema
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _column_names(meta: pq.FileMetaData, shown: int = 4) -> str:
    names = list(dict.fromkeys(column.path.split(".")[0] for column in meta.schema))
    return ", ".join(names[:shown]) + (f" … ({len(names)} in all)" if len(names) > shown else "")


def step_keys(plan: list[Step]) -> dict[str, str]:
    """The cache key of every step, in plan order (upstream steps must come first)."""
    keys: dict[str, str] = {}
    for step in plan:
        missing = [s for s in step.upstream.values() if s not in keys]
        if missing:
            raise ValueError(f"step {step.id} depends on {missing[0]}, which is not before it")
        payload = {
            "stage": step.stage.name,
            "version": step.stage.version,
            "params": step.params,
            "upstream": {name: keys[s] for name, s in sorted(step.upstream.items())},
        }
        keys[step.id] = hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:16]
    return keys


class Artifact(Mapping[str, Any]):
    """The saved outputs of one step, loaded by name on first access."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest = json.loads((folder / MANIFEST).read_text())
        self._files = {name: info["file"] for name, info in self.manifest["outputs"].items()}
        self._cache: dict[str, Any] = {}

    def path(self, name: str) -> Path:
        return self.folder / self._files[name]

    def check_readable(self, step_id: str) -> None:
        """Raise StoreError naming the file when a Parquet output's footer is unreadable, or when
        its columns or row count are not those the step wrote (a replaced or hand-edited file)."""
        for info in self.manifest["outputs"].values():
            path = self.folder / info["file"]
            if path.suffix != ".parquet":
                continue
            fix = f"re-run it with `pathways run --only {step_id} --force`"
            try:
                meta = pq.read_metadata(path)
            except (pa.ArrowException, OSError) as exc:
                raise StoreError(
                    f"{path}: damaged output of step {step_id} ({str(exc).splitlines()[0]}) — {fix}"
                ) from None
            if "parquet_schema" in info and schema_fingerprint(meta) != info["parquet_schema"]:
                raise StoreError(
                    f"{path}: its columns are not those step {step_id} wrote (columns "
                    f"{_column_names(meta)}; replaced or edited by hand?) — {fix}"
                )
            if "rows" in info and meta.num_rows != info["rows"]:
                raise StoreError(
                    f"{path}: {meta.num_rows} rows where step {step_id} wrote {info['rows']} "
                    f"(replaced or edited by hand?) — {fix}"
                )

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            path = self.path(name)
            if path.is_dir():
                value: Any = pq.read_table(path, partitioning="hive").to_pandas()
            elif path.suffix == ".parquet":
                value = pq.read_table(path).to_pandas()
            elif path.suffix == ".json":
                value = json.loads(path.read_text())
            elif path.suffix == ".npy":
                value = np.load(path, allow_pickle=False)
            else:
                value = path.read_bytes()
            self._cache[name] = value
        return self._cache[name]

    def __iter__(self):  # noqa: ANN204
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


@dataclass
class StepStatus:
    step: Step
    key: str
    cached: bool
    selected: bool
    action: str = ""
    """"run", "cached" or "skip" (not selected), decided by :meth:`Runner.plan_status`."""
    seconds: float | None = None


def _output_intact(path: Path, info: Mapping[str, Any]) -> bool:
    """A saved output is in place with the size the manifest recorded (a partitioned one: its
    number of files and total size)."""
    if info.get("partitioned"):
        if not path.is_dir():
            return False
        files = list(path.rglob("*.parquet"))
        return len(files) == info["files"] and sum(f.stat().st_size for f in files) == info["bytes"]
    return path.is_file() and path.stat().st_size == info["bytes"]


def _parquet_info(folder: Path, file: str) -> dict[str, Any]:
    """What a manifest records of a written Parquet output, read from its footer."""
    meta = pq.read_metadata(folder / file)
    return {
        "rows": meta.num_rows,
        "parquet_schema": schema_fingerprint(meta),
        "file": file,
        "bytes": (folder / file).stat().st_size,
    }


def check_store_format(run_dir: Path) -> None:
    """Refuse a run written by a newer pathways whose store layout this one does not know."""
    record = run_dir / "run.json"
    try:
        found = json.loads(record.read_text()).get("store_format", 1)
    except (OSError, ValueError):
        return
    if isinstance(found, int) and found > STORE_FORMAT:
        raise StoreError(
            f"{run_dir}: written by a newer pathways (store format {found}; this one reads "
            f"{STORE_FORMAT}) — upgrade pathways, or use another --store"
        )


class Runner:
    """Runs a plan of steps inside one run folder."""

    def __init__(self, run_dir: str | Path, provenance: Mapping[str, Any] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.provenance = dict(provenance or {})

    # -- inspection -------------------------------------------------------------------------
    def step_dir(self, step_id: str) -> Path:
        return self.run_dir / step_id

    def is_cached(self, step_id: str, key: str) -> bool:
        folder = self.step_dir(step_id)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return False
        if manifest.get("key") != key:
            return False
        return all(
            _output_intact(folder / info["file"], info)
            for info in manifest.get("outputs", {}).values()
        )

    def plan_status(
        self, plan: list[Step], only: Iterable[str] | None = None, force: bool = False
    ) -> list[StepStatus]:
        """What a run would do: for each step, whether it is cached and whether it would run.

        ``only`` selects steps by stage name (``train``) or step id (``train/mlp``); their
        uncached upstream steps run too. ``force`` re-runs the selected steps even if cached.
        """
        keys = step_keys(plan)
        only = list(only or [])
        known = {s.stage.name for s in plan} | {s.id for s in plan}
        unknown = [o for o in only if o not in known]
        if unknown:
            raise StoreError(
                f"--only {unknown[0]}: no such stage or step — choose from: {', '.join(sorted(known))}"
            )
        selected = {s.id for s in plan if not only or s.stage.name in only or s.id in only}
        statuses = {
            s.id: StepStatus(s, keys[s.id], self.is_cached(s.id, keys[s.id]), s.id in selected)
            for s in plan
        }
        # Upstream steps a selected step needs, when they are not cached, run too.
        for step in reversed(plan):
            status = statuses[step.id]
            wanted = status.selected or status.action == "needed"
            if wanted and (not status.cached or (force and status.selected)):
                for upstream in step.upstream.values():
                    if not statuses[upstream].cached:
                        statuses[upstream].action = "needed"
        for status in statuses.values():
            if status.selected and (force or not status.cached):
                status.action = "run"
            elif status.action == "needed":
                status.action = "run"
            elif status.cached:
                status.action = "cached"
            else:
                status.action = "skip"
        return [statuses[s.id] for s in plan]

    # -- execution --------------------------------------------------------------------------
    def lock(self, timeout: float = -1, progress: Progress | None = None) -> FileLock:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(
                f"cannot create the run folder {self.run_dir}: a file is in the way — "
                "choose another --store"
            ) from None
        lock = FileLock(self.run_dir / ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            (progress or Silent()).log(
                f"waiting for another pathways process using {self.run_dir} …"
            )
            try:
                lock.acquire(timeout=timeout)
            except Timeout:
                raise StoreError(
                    f"{self.run_dir} is in use by another pathways process — wait for it to "
                    "finish, or run with another --store"
                ) from None
        return lock

    def _clean_leftovers(self) -> None:
        for leftover in (".tmp", ".trash"):
            shutil.rmtree(self.run_dir / leftover, ignore_errors=True)

    def run(
        self,
        plan: list[Step],
        only: Iterable[str] | None = None,
        force: bool = False,
        progress: Progress | None = None,
        lock_timeout: float = -1,
        executor: Any = None,
    ) -> list[StepStatus]:
        """Run what :meth:`plan_status` says must run; return the statuses with timings.

        ``executor`` decides where steps run (default: here, in order; see
        :mod:`pathways.executors`).
        """
        from pathways.executors import LocalExecutor

        progress = progress or Silent()
        check_store_format(self.run_dir)
        lock = self.lock(lock_timeout, progress)
        try:
            self._clean_leftovers()
            statuses = self.plan_status(plan, only, force)
            keys = {s.step.id: s.key for s in statuses}
            (executor or LocalExecutor()).run(self, statuses, keys, progress)
            self._write_run_record(statuses)
            return statuses
        finally:
            lock.release()

    def run_step(self, step: Step, keys: Mapping[str, str], progress: Progress) -> None:
        """Run one step whose upstream outputs are in place; its outputs appear atomically."""
        inputs = {name: Artifact(self.step_dir(s)) for name, s in step.upstream.items()}
        for upstream_id, artifact in zip(step.upstream.values(), inputs.values(), strict=True):
            artifact.check_readable(upstream_id)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        try:
            outputs = step.stage.load()(
                inputs, {**step.params, **step.options}, StepProgress(progress, step.id)
            )
        except pa.ArrowException as exc:
            upstream = ", ".join(step.upstream.values()) or "none"
            raise StoreError(
                f"{step.id}: an input file is damaged ({str(exc).splitlines()[0]}) — re-run the "
                f"upstream steps ({upstream}) with `pathways run --only STEP --force`"
            ) from None
        seconds = time.perf_counter() - t0
        manifest = {
            "step": step.id,
            "stage": step.stage.name,
            "version": step.stage.version,
            "key": keys[step.id],
            "params": step.params,
            "options": step.options,
            "upstream": {name: {"step": s, "key": keys[s]} for name, s in step.upstream.items()},
            "versions": library_versions(),
            "started_at": started,
            "seconds": round(seconds, 3),
        }
        tmp = self.run_dir / ".tmp" / f"{step.id.replace('/', '-')}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            streams = {n: v for n, v in outputs.items() if isinstance(v, TableStream)}
            saved = self._save_streams(tmp, streams, manifest)
            manifest["outputs"] = {
                name: saved[name] if name in saved else self._save(tmp, name, value, manifest)
                for name, value in outputs.items()
            }
            manifest["seconds"] = round(time.perf_counter() - t0, 3)
            faults.kill_at(step.id, "saved")
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
            self._replace(tmp, self.step_dir(step.id), step.id)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _provenance(self, manifest: dict) -> str:
        keys = ("step", "stage", "version", "key", "params", "upstream", "versions")
        return json.dumps({**self.provenance, **{k: manifest[k] for k in keys}}, default=str)

    def _metadata(self, schema: pa.Schema, manifest: dict) -> dict:
        """``schema``'s metadata with the step's provenance added."""
        return {**(schema.metadata or {}), PROVENANCE_KEY: self._provenance(manifest)}

    def _save_streams(
        self, folder: Path, streams: Mapping[str, TableStream], manifest: dict
    ) -> dict[str, dict[str, Any]]:
        """Drive each stream source once, appending every batch to its outputs' files."""
        saved: dict[str, dict[str, Any]] = {}
        sources = {id(s.source): s.source for s in streams.values()}
        for source in sources.values():
            names = {s.name: out for out, s in streams.items() if s.source is source}
            saved.update(self._write_source(folder, source, names, manifest))
        return saved

    def _write_source(
        self, folder: Path, source: StreamSource, names: Mapping[str, str], manifest: dict
    ) -> dict[str, dict[str, Any]]:
        writers: dict[str, pq.ParquetWriter] = {}
        pending: dict[str, list[pa.Table]] = {name: [] for name in names}

        def flush(name: str) -> None:
            if pending[name]:
                writers[name].write_table(pa.concat_tables(pending[name]))
                pending[name].clear()

        try:
            for batch in source.batches:
                for name, table in batch.items():
                    if name not in names:
                        continue
                    if name not in writers:
                        writers[name] = pq.ParquetWriter(
                            folder / f"{names[name]}.parquet",
                            table.schema.with_metadata(self._metadata(table.schema, manifest)),
                            compression="zstd",
                        )
                    pending[name].append(table.replace_schema_metadata(None))
                    if sum(t.nbytes for t in pending[name]) >= source.group_bytes:
                        flush(name)
            for name in writers:
                flush(name)
        finally:
            for writer in writers.values():
                writer.close()
        saved = {}
        for name, out in names.items():
            if name not in writers:
                raise StoreError(f"stage output {out!r} received no rows")
            saved[out] = _parquet_info(folder, f"{out}.parquet")
        return saved

    def _save(self, folder: Path, name: str, value: Any, manifest: dict) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if isinstance(value, Partitioned):
            files = rows = size = 0
            for keys, table in value.parts:
                part = folder / name
                for key, val in keys.items():
                    part = part / f"{key}={val}"
                part.mkdir(parents=True, exist_ok=True)
                self._write_table(table, part / "part-0.parquet", manifest)
                files, rows = files + 1, rows + table.num_rows
                size += (part / "part-0.parquet").stat().st_size
            return {"file": name, "partitioned": True, "files": files, "rows": rows, "bytes": size}
        if isinstance(value, pa.Table) or hasattr(value, "to_parquet"):
            table = (
                value
                if isinstance(value, pa.Table)
                else pa.Table.from_pandas(value, preserve_index=False)
            )
            self._write_table(table, folder / f"{name}.parquet", manifest)
            return _parquet_info(folder, f"{name}.parquet")
        if isinstance(value, (dict, list)):
            file = f"{name}.json"
            (folder / file).write_text(json.dumps(value, indent=2, default=str))
        elif isinstance(value, np.ndarray):
            file = f"{name}.npy"
            np.save(folder / file, value, allow_pickle=False)
            info["shape"] = list(value.shape)
        elif isinstance(value, (bytes, bytearray)):
            file = name
            (folder / file).write_bytes(value)
        else:
            raise TypeError(f"stage output {name!r} of type {type(value).__name__} cannot be saved")
        info.update(file=file, bytes=(folder / file).stat().st_size)
        return info

    def _write_table(self, table: pa.Table, path: Path, manifest: dict) -> None:
        table = table.replace_schema_metadata(self._metadata(table.schema, manifest))
        pq.write_table(table, path, compression="zstd")

    def _replace(self, tmp: Path, final: Path, step_id: str) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        trash = self.run_dir / ".trash" / uuid.uuid4().hex
        if final.exists():
            trash.parent.mkdir(parents=True, exist_ok=True)
            os.replace(final, trash)
            faults.kill_at(step_id, "replacing")
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)

    def _write_run_record(self, statuses: list[StepStatus]) -> None:
        record = {
            **self.provenance,
            "store_format": STORE_FORMAT,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "steps": {
                s.step.id: {"stage": s.step.stage.name, "key": s.key}
                for s in statuses
                if self.is_cached(s.step.id, s.key)
            },
        }
        tmp = self.run_dir / f".run.json.{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(record, indent=2, default=str))
        os.replace(tmp, self.run_dir / "run.json")
