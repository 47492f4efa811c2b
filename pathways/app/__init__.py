"""The Dash explorer: compare trained and unseen classes by eye.

``create_app(store)`` builds the app; nothing is read at import time, and the app never imports
torch. Split: :mod:`~pathways.app.reader` (read-only, cached access to a store),
:mod:`~pathways.app.frame` (the page: shared pickers, one tab per view), the views in
:mod:`~pathways.app.views` (one module each: layout, callbacks, figures; registered by name),
:mod:`~pathways.app.view` (what a view is), :mod:`~pathways.app.figures` (what the views'
figures share) and :mod:`~pathways.app.ids` (the shared pickers' ids).
"""

from pathways.app.factory import create_app

__all__ = ["create_app"]
