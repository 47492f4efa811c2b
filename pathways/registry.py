"""Registries of named things, and objects named as ``"module:attribute"``.

pathways grows along five axes, each one registry of this type: stages
(:mod:`pathways.stages.registry`), model types (:mod:`pathways.experiment.model_types`), data
sources (:mod:`pathways.data.sources`), novelty scores (:mod:`pathways.analysis.novelty_scores`)
and explorer views (:mod:`pathways.app.views`). Adding one is one module plus one
:meth:`Registry.add`; a name registered twice is an error at import, and looking up a name
that is not there is one line that lists the known names.

Stage functions, networks, novelty scores and the Dask workers' set-up are named as
``"module:attribute"`` (:func:`load_named`) so that planning, the config and the executors
never import what those names lead to (torch among them) until a step needs it.

>>> colours = Registry("colour")
>>> colours.add("red", 1), colours.add("blue", 2)
(1, 2)
>>> colours.names()
['red', 'blue']
>>> colours["green"]
Traceback (most recent call last):
...
LookupError: unknown colour 'green' — use one of red, blue
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """Named entries of one kind, in registration order (a ``dict``: iterate, ``in``,
    ``.items()``).

    ``kind`` names the entries in messages (``"model type"``); ``error`` is the exception a
    lookup of an unknown name raises (a :class:`pathways.errors.PathwaysError` where the name
    comes from the user and the message must reach them as one line).
    """

    def __init__(self, kind: str, error: type[Exception] = LookupError) -> None:
        super().__init__()
        self.kind = kind
        self.error = error

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` as ``name``; a name registered twice is an error."""
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self[name] = entry
        return entry

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self)

    def __missing__(self, name: str) -> T:
        raise self.error(f"unknown {self.kind} {name!r} — use one of {', '.join(self)}")


def load_named(name: str) -> Any:
    """The object ``"package.module:attribute"`` names (its module imported now).

    >>> load_named("pathways.registry:Registry") is Registry
    True
    """
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def call_named(name: str, kwargs: dict[str, Any]) -> Any:
    """Call the function ``"package.module:function"`` names with ``kwargs``: how a process
    runs code it does not import itself (the explorer's worker runs torch code by name).

    >>> call_named("pathways.registry:load_named", {"name": "pathways.registry:Registry"})
    <class 'pathways.registry.Registry'>
    """
    return load_named(name)(**kwargs)
