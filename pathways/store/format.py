"""The version of the store's layout, and the check that refuses a run written by a newer one."""

from __future__ import annotations

import json
from pathlib import Path

from pathways.errors import StoreError

STORE_FORMAT = 1
"""Version of the store's layout; a run written with a higher one is refused, never overwritten."""


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
