"""Property-based tests: whatever a user writes or a disk holds, pathways answers with its own
one-line error, never another exception.

Generated inputs: experiment configs (the default with one part replaced, removed or added, and
free structures: random types, extreme and non-finite numbers, unicode and path-like names,
unknown nested keys) through the loader and through the CLI; damaged IDX bytes (raw and gzip)
through the IDX reader; damaged Parquet bytes (activation and sample tables written by pathways)
through the store's readers.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pathways.cli.main import app
from pathways.data.idx import read_idx, write_idx
from pathways.data.subsets import read_samples
from pathways.errors import ConfigError, DataError, StoreError
from pathways.experiment.config import Experiment, default_experiment, parse_experiment, parse_text
from pathways.store.activations import activation_table, layer_matrix, layers
from pathways.store.reading import load_layer, load_samples

SCALE = float(os.environ.get("PATHWAYS_HYPOTHESIS_SCALE", "1"))
"""More examples for a deeper search by hand: PATHWAYS_HYPOTHESIS_SCALE=20 pytest this file."""


def examples(n: int) -> settings:
    return settings(
        max_examples=int(n * SCALE),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- generated experiment configs --------------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 2**31, 2**62, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e-308, 0.0, -0.0]),
)
names = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["..", ".", "../x", "/etc", "a/b", "~", "-", ".tmp", "con", "ü", "名前", "a b", "x" * 300]
    ),
)
scalars = st.one_of(st.booleans(), numbers, names)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(names, inner, max_size=4)),
    max_leaves=12,
)


def _plain(config: Experiment) -> dict[str, Any]:
    """The experiment as TOML can hold it (no None)."""

    def drop_none(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: drop_none(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [drop_none(v) for v in value]
        return value

    return drop_none(config.model_dump(mode="json"))


DEFAULT = _plain(default_experiment())


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a nested config: dict keys and list positions."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated_defaults(draw: st.DrawFn) -> dict[str, Any]:
    """The default experiment with one to three places replaced, removed or given a new key."""
    import copy

    config = copy.deepcopy(DEFAULT)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(_paths(config) or [()]))
        parent: Any = config
        for part in where[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if not where:
            continue
        key = where[-1]
        if action == "replace":
            parent[key] = draw(values)
        elif action == "remove" and isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent.get(key) if isinstance(parent, dict) else None, dict):
            parent[key][draw(names)] = draw(values)  # an unknown nested key
        elif isinstance(parent, dict):
            parent[draw(names)] = draw(values)
    return config


free_configs = st.dictionaries(names, values, max_size=6)
configs = st.one_of(mutated_defaults(), free_configs)


def _is_one_line_error(message: str, source: str) -> bool:
    return (
        message.startswith(source)
        and "\n" not in message
        and "\r" not in message
        and " — " in message
        and len(message) < 600
    )


@examples(150)
@given(configs)
def test_any_config_mapping_loads_or_names_the_problem(config: dict[str, Any]):
    try:
        experiment = parse_experiment(config, "exp.toml")
    except ConfigError as exc:
        assert _is_one_line_error(str(exc), "exp.toml: "), str(exc)
    else:
        assert isinstance(experiment, Experiment)
        assert not experiment.name.startswith(".") and "/" not in experiment.name
        assert math.isfinite(experiment.training.learning_rate)


def _toml(config: dict[str, Any]) -> str | None:
    try:
        return tomli_w.dumps(config)
    except (TypeError, ValueError):
        return None  # not expressible in TOML (e.g. a list of tables mixed with values)


@examples(150)
@given(configs)
def test_any_toml_text_loads_or_names_the_problem(config: dict[str, Any]):
    text = _toml(config)
    if text is None:
        return
    try:
        parse_text(text, "exp.toml")
    except ConfigError as exc:
        assert _is_one_line_error(str(exc), "exp.toml: "), str(exc)


@examples(150)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_as_an_experiment_file_load_or_name_the_problem(raw: bytes):
    from pathways.experiment.config import load_experiment

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "exp.toml"
        path.write_bytes(raw)
        try:
            load_experiment(path)
        except ConfigError as exc:
            assert _is_one_line_error(str(exc), str(path)), str(exc)


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-configs")


@examples(60)
@given(configs)
def test_the_cli_validates_any_config_with_one_line_and_exit_2(cli_folder: Path, config):
    text = _toml(config)
    if text is None:
        return
    path = cli_folder / "exp.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["stages", str(path), "--store", str(cli_folder / "store")], catch_exceptions=True
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert not (cli_folder / "store").exists() or not any((cli_folder / "store").iterdir())


# -- damaged IDX files ---------------------------------------------------------------------------


@st.composite
def damaged_idx(draw: st.DrawFn) -> tuple[bytes, bool]:
    """An IDX file (images or labels, raw or gzip) with some of its bytes changed, cut or added."""
    ndim = draw(st.sampled_from([1, 3]))
    shape = (draw(st.integers(0, 5)),) + ((draw(st.integers(1, 4)),) * 2 if ndim == 3 else ())
    array = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    compressed = draw(st.booleans())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("x.gz" if compressed else "x")
        write_idx(path, array)
        raw = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "cut", "append", "header"]))
        if kind == "flip" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif kind == "append":
            raw += draw(st.binary(min_size=1, max_size=16))
        elif kind == "header" and not compressed and len(raw) >= 8:
            raw[4:8] = draw(st.binary(min_size=4, max_size=4))  # a wild first dimension
    return bytes(raw), ndim == 3


@examples(150)
@given(damaged_idx())
def test_damaged_idx_bytes_read_or_name_the_file(case: tuple[bytes, bool]):
    raw, images = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train-images-idx3-ubyte"
        path.write_bytes(raw)
        try:
            array = read_idx(path, ndim=3 if images else 1)
        except DataError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc) and " — " in str(exc)
        else:
            assert array.dtype == np.uint8 and array.ndim == (3 if images else 1)


def test_a_gzip_stream_with_a_damaged_body_is_named():
    payload = bytearray(gzip.compress(bytes(range(256)) * 20))
    payload[30:40] = b"\xff" * 10  # inside the deflate stream: zlib.error, not an OSError
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t10k-labels-idx1-ubyte.gz"
        path.write_bytes(bytes(payload))
        with pytest.raises(DataError, match="cannot read"):
            read_idx(path, ndim=1)


# -- damaged Parquet files -----------------------------------------------------------------------


def _activation_bytes(layout: str) -> bytes:
    n = 12
    meta = pd.DataFrame(
        {
            "sample_id": np.arange(n),
            "source_index": np.arange(n),
            "label": np.repeat([1, 7, 3], 4),
            "class_name": np.repeat([1, 7, 3], 4).astype(str),
            "split": pd.Categorical(["train", "test"] * 6, categories=["train", "test"]),
            "seen": np.repeat([True, True, False], 4),
            "predicted_class": np.repeat([1, 7, 1], 4),
            "confidence": np.full(n, 0.9, dtype=np.float32),
        }
    )
    rng = np.random.default_rng(0)
    hidden = {"fc1": ("dense", rng.random((n, 5), dtype=np.float32))}
    outputs = {"logit": ("logits", ["1", "7"], rng.random((n, 2), dtype=np.float32))}
    table = activation_table(meta, hidden, outputs, layout)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=4)
    return sink.getvalue()


def _samples_bytes() -> bytes:
    n = 6
    table = pa.table(
        {
            "sample_id": np.arange(n),
            "source_index": np.arange(n),
            "label": np.array([1, 1, 7, 7, 3, 3]),
            "class_name": np.array([1, 1, 7, 7, 3, 3]).astype(str),
            "split": pa.array(["train", "test"] * 3).dictionary_encode(),
            "seen": np.array([True] * 4 + [False] * 2),
        }
    )
    flat = pa.array(np.arange(n * 16, dtype=np.uint8))
    table = table.append_column("image", pa.FixedSizeListArray.from_arrays(flat, 16))
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=2)
    return sink.getvalue()


GOOD = {
    "wide": _activation_bytes("wide"),
    "list": _activation_bytes("list"),
    "samples": _samples_bytes(),
}


@st.composite
def damaged_parquet(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(GOOD)))
    raw = bytearray(GOOD[kind])
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "append", "footer", "zero"]))
        if action == "flip" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif action == "append":
            raw += draw(st.binary(min_size=1, max_size=32))
        elif action == "footer" and len(raw) > 40:
            at = len(raw) - draw(st.integers(5, 40))  # inside the footer (schema, metadata)
            raw[at] = draw(st.integers(0, 255))
        elif action == "zero" and raw:
            start, length = draw(st.integers(0, len(raw) - 1)), draw(st.integers(1, 64))
            raw[start : start + length] = bytes(len(raw[start : start + length]))
    return kind, bytes(raw)


def _read_everything(path: Path, kind: str) -> None:
    if kind == "samples":
        samples, images = read_samples(path)
        assert len(samples) == len(images)
        return
    for info in layers(path):
        layer_matrix(path, info.name)
    load_samples(path)
    load_layer(path, "fc1")


@examples(250)
@given(damaged_parquet())
def test_damaged_parquet_bytes_read_or_name_the_file(case: tuple[str, bytes]):
    kind, raw = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("samples.parquet" if kind == "samples" else "activations.parquet")
        path.write_bytes(raw)
        try:
            _read_everything(path, kind)
        except (StoreError, DataError) as exc:
            message = str(exc)
            assert str(path) in message and "\n" not in message and " — " in message, message


def test_the_undamaged_files_read():
    with tempfile.TemporaryDirectory() as folder:
        for kind, raw in GOOD.items():
            path = Path(folder) / f"{kind}.parquet"
            path.write_bytes(raw)
            _read_everything(path, kind)
