"""What a finished run holds, for notebooks and scripts: its classes (labels, names, the
order of the networks' outputs), its models and each model's analysis layers.

Example
-------
>>> run = read_summary("data/store/default")                        # doctest: +SKIP
>>> run.trained, run.unseen, run.models, run.hidden("mlp")           # doctest: +SKIP
([1, 7], [3], ['mlp', 'lenet5'], ['fc1', 'fc2', 'fc3'])

A class is shown by its name when the source names it, by its number otherwise:

>>> class_label(3), class_label(0, {0: "T-shirt"}), class_label(5, {5: "5"})
('class 3', 'T-shirt', 'class 5')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pathways.errors import StoreError
from pathways.store.parquet import reading


def class_label(label: int, names: Mapping[int, str] | None = None) -> str:
    """How a class is shown to a reader: its name when the source names it (``cat``), else
    ``class 3``."""
    name = (names or {}).get(int(label))
    return name if name is not None and name != str(int(label)) else f"class {int(label)}"


@dataclass(frozen=True)
class RunSummary:
    folder: Path
    trained: list[int]
    """The trained classes' labels, in the order of the networks' outputs."""
    unseen: list[int]
    names: dict[int, str]
    """Label → the source's class name (a folder's name; the number for digits)."""
    models: list[str]

    def name(self, label: int) -> str:
        """How to show a class: its name (``"cat"``), or ``"class 3"`` for a numbered one."""
        return class_label(label, self.names)

    def layers(self, model: str) -> list[str]:
        """The model's analysis layers, input side first, ``logit`` last."""
        from pathways.store.reading import layer_names

        return layer_names(self.folder / "capture" / model / "activations.parquet")

    def hidden(self, model: str) -> list[str]:
        """The model's hidden analysis layers (without ``logit``)."""
        return [layer for layer in self.layers(model) if layer != "logit"]


def read_summary(folder: str | Path) -> RunSummary:
    """The classes, models and layers of the run in ``folder`` (``STORE/<name>``)."""
    folder = Path(folder)
    record = folder / "run.json"
    if not record.is_file():
        raise StoreError(f"{folder}: no run.json — not a run folder; run `pathways run` first")
    experiment = json.loads(record.read_text())["experiment"]
    models = [m["name"] for m in experiment["models"]]
    with reading(folder / "data" / "samples.parquet"):
        samples = pq.read_table(
            folder / "data" / "samples.parquet", columns=["label", "class_name", "seen"]
        ).to_pandas()
    first = samples.drop_duplicates("label").sort_values("label")
    names = dict(zip(first["label"].astype(int), first["class_name"].astype(str), strict=True))
    description = json.loads((folder / "train" / models[0] / "model.json").read_text())
    trained = [int(c) for c in description["classes"]]
    unseen = sorted(int(c) for c in first.loc[~first["seen"], "label"])
    return RunSummary(folder, trained, unseen, names, models)
