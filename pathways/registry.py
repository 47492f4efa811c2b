"""Objects named as ``"module:attribute"``, imported only when they are used.

Stage functions, model networks, novelty scores and the Dask workers' set-up are named this way
so that planning, the config and the executors never import what those names lead to (torch
among them) until a step needs it.
"""

from __future__ import annotations

import importlib
from typing import Any


def load_named(name: str) -> Any:
    """The object ``"package.module:attribute"`` names (its module imported now)."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)
