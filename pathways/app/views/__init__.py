"""The explorer's views, registered by name in tab order.

Adding a view: a module here with its layout, a class whose methods are its callbacks (over a
:class:`~pathways.app.reader.StoreReader`), its figures, ``register(app, callbacks)`` and
``VIEW = View(...)``; then one line below.
"""

from __future__ import annotations

from pathways.app.view import View
from pathways.app.views import (
    compare,
    dynamics,
    embedding,
    explain,
    interventions,
    novelty,
    paths,
    sample,
    signatures,
    strategies,
)
from pathways.registry import Registry

VIEWS: Registry[View] = Registry("view")
for _view in (
    embedding.VIEW,
    signatures.VIEW,
    compare.VIEW,
    paths.VIEW,
    sample.VIEW,
    novelty.VIEW,
    explain.VIEW,
    strategies.VIEW,
    interventions.VIEW,
    dynamics.VIEW,
):
    VIEWS.add(_view.name, _view)
