"""A step's outputs on disk: reading them, writing them, checking they are what was written.

Each step's outputs live in ``RUN/<step id>/`` with a ``manifest.json`` (key, parameters,
upstream keys, library versions, timings, files and row counts). Stages never see paths: they
get upstream outputs as :class:`Artifact` mappings (loaded on first access) and return values
that :class:`OutputWriter` saves — DataFrames and Arrow tables as Parquet (with the step's
provenance in their metadata), streams of tables batch by batch, partitioned datasets, dicts
as JSON, NumPy arrays as ``.npy``, bytes as they are. This module is also all the explorer's
reader uses to open and check a step.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pathways.errors import StoreError
from pathways.store.activations import PROVENANCE_KEY

MANIFEST = "manifest.json"


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


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the step whose outputs are in ``folder`` (OSError/ValueError if none)."""
    return json.loads((folder / MANIFEST).read_text())


class Artifact(Mapping[str, Any]):
    """The saved outputs of one step, loaded by name on first access."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest = read_manifest(folder)
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


def output_intact(path: Path, info: Mapping[str, Any]) -> bool:
    """A saved output is in place with the size the manifest recorded (a partitioned one: its
    number of files and total size)."""
    if info.get("partitioned"):
        if not path.is_dir():
            return False
        files = list(path.rglob("*.parquet"))
        return len(files) == info["files"] and sum(f.stat().st_size for f in files) == info["bytes"]
    return path.is_file() and path.stat().st_size == info["bytes"]


def parquet_info(folder: Path, file: str) -> dict[str, Any]:
    """What a manifest records of a written Parquet output, read from its footer."""
    meta = pq.read_metadata(folder / file)
    return {
        "rows": meta.num_rows,
        "parquet_schema": schema_fingerprint(meta),
        "file": file,
        "bytes": (folder / file).stat().st_size,
    }


class OutputWriter:
    """Saves one step's outputs into a folder, each Parquet file stamped with ``provenance``
    (a JSON text: the experiment, the step, its key and library versions)."""

    def __init__(self, folder: Path, provenance: str) -> None:
        self.folder = folder
        self.provenance = provenance

    def save_all(self, outputs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Save every output (streams first, driving each stream source once); return what the
        manifest records of each, by output name."""
        streams = {n: v for n, v in outputs.items() if isinstance(v, TableStream)}
        saved = self._save_streams(streams)
        return {
            name: saved[name] if name in saved else self._save(name, value)
            for name, value in outputs.items()
        }

    def _metadata(self, schema: pa.Schema) -> dict:
        """``schema``'s metadata with the step's provenance added."""
        return {**(schema.metadata or {}), PROVENANCE_KEY: self.provenance}

    def _save_streams(self, streams: Mapping[str, TableStream]) -> dict[str, dict[str, Any]]:
        """Drive each stream source once, appending every batch to its outputs' files."""
        saved: dict[str, dict[str, Any]] = {}
        sources = {id(s.source): s.source for s in streams.values()}
        for source in sources.values():
            names = {s.name: out for out, s in streams.items() if s.source is source}
            saved.update(self._write_source(source, names))
        return saved

    def _write_source(
        self, source: StreamSource, names: Mapping[str, str]
    ) -> dict[str, dict[str, Any]]:
        folder = self.folder
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
                            table.schema.with_metadata(self._metadata(table.schema)),
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
            saved[out] = parquet_info(folder, f"{out}.parquet")
        return saved

    def _save(self, name: str, value: Any) -> dict[str, Any]:
        folder = self.folder
        info: dict[str, Any] = {}
        if isinstance(value, Partitioned):
            files = rows = size = 0
            for keys, table in value.parts:
                part = folder / name
                for key, val in keys.items():
                    part = part / f"{key}={val}"
                part.mkdir(parents=True, exist_ok=True)
                self._write_table(table, part / "part-0.parquet")
                files, rows = files + 1, rows + table.num_rows
                size += (part / "part-0.parquet").stat().st_size
            return {"file": name, "partitioned": True, "files": files, "rows": rows, "bytes": size}
        if isinstance(value, pa.Table) or hasattr(value, "to_parquet"):
            table = (
                value
                if isinstance(value, pa.Table)
                else pa.Table.from_pandas(value, preserve_index=False)
            )
            self._write_table(table, folder / f"{name}.parquet")
            return parquet_info(folder, f"{name}.parquet")
        if isinstance(value, (dict, list)):
            file = f"{name}.json"
            # standard JSON: NaN and ±inf are written as null (json.dumps would write NaN)
            (folder / file).write_text(
                json.dumps(_json_safe(value), indent=2, default=str, allow_nan=False)
            )
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

    def _write_table(self, table: pa.Table, path: Path) -> None:
        table = table.replace_schema_metadata(self._metadata(table.schema))
        pq.write_table(table, path, compression="zstd")


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf; numpy's too) replaced by None."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return None if type(value).__name__ == "NAType" else value  # pandas' NA, without pandas
