"""Explorer fixtures: the app over a real small store."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathways.app.callbacks import Callbacks
from pathways.app.data import StoreReader


@pytest.fixture(scope="session")
def callbacks(small_store: Path) -> Callbacks:
    return Callbacks(StoreReader(small_store))
