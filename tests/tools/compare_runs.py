"""Compare two runs of one experiment, file by file: are their outputs the same?

    python tests/tools/compare_runs.py STORE_A/default STORE_B/default

Parquet files are compared by content (every column, exactly) and schema, with the pathways
metadata (layers, units) but without the provenance block, which names library and stage
versions; NumPy arrays exactly; JSON by value; other files byte for byte. Each step's key is
compared too. Prints one line per difference and a summary; exits 1 when anything differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

SKIP = {"manifest.json", "run.json", ".lock"}


def _parquet(path: Path):
    table = pq.read_table(path, partitioning=None)
    meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pathways.provenance"}
    return table.replace_schema_metadata(meta)


def same(a: Path, b: Path) -> bool:
    if a.suffix == ".parquet":
        return _parquet(a).equals(_parquet(b), check_metadata=True)
    if a.suffix == ".npy":
        x, y = np.load(a, allow_pickle=False), np.load(b, allow_pickle=False)
        return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
    if a.suffix == ".json":
        return json.loads(a.read_text()) == json.loads(b.read_text())
    return a.read_bytes() == b.read_bytes()


def files(run: Path) -> set[str]:
    return {
        str(p.relative_to(run))
        for p in run.rglob("*")
        if p.is_file() and p.name not in SKIP and not p.relative_to(run).parts[0].startswith(".")
    }


def keys(run: Path) -> dict[str, str]:
    return {
        str(p.parent.relative_to(run)): json.loads(p.read_text())["key"]
        for p in run.rglob("manifest.json")
    }


def main(a: Path, b: Path) -> int:
    only_a, only_b = files(a) - files(b), files(b) - files(a)
    common = sorted(files(a) & files(b))
    differ = [name for name in common if not same(a / name, b / name)]
    key_a, key_b = keys(a), keys(b)
    other_keys = sorted(s for s in key_a.keys() & key_b.keys() if key_a[s] != key_b[s])
    for name in sorted(only_a):
        print(f"only in {a}: {name}")
    for name in sorted(only_b):
        print(f"only in {b}: {name}")
    for name in differ:
        print(f"differs: {name}")
    for step in other_keys:
        print(f"key differs: {step} ({key_a[step]} vs {key_b[step]})")
    print(
        f"{len(common) - len(differ)} of {len(common)} common files identical "
        f"({sum(n.endswith('.parquet') for n in common)} Parquet, "
        f"{sum(n.endswith('.npy') for n in common)} arrays); "
        f"{len(key_a.keys() & key_b.keys()) - len(other_keys)} of {len(key_a.keys() & key_b.keys())} "
        f"step keys equal; {len(only_a)} files only in the first, {len(only_b)} only in the second"
    )
    return 1 if (only_a or only_b or differ or other_keys) else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
