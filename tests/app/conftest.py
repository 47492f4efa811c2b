"""Explorer fixtures: the app over a real small store."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathways.app.frame import Frame
from pathways.app.reader import StoreReader


@pytest.fixture(scope="session")
def frame(small_store: Path) -> Frame:
    return Frame(StoreReader(small_store))
