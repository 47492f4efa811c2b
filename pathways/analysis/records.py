"""Tables as JSON-able rows: numpy scalars made Python numbers, NaN made None (the report's
``report.json`` and anything else written as JSON).

>>> import pandas as pd
>>> records(pd.DataFrame({"layer": ["fc1"], "share": [float("nan")]}))
[{'layer': 'fc1', 'share': None}]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per row, every value :func:`plain`."""
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def plain(value: Any) -> Any:
    """A numpy scalar as its Python value; NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
