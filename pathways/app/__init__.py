"""The Dash explorer: compare trained and unseen classes by eye.

``create_app(store)`` builds the app; nothing is read at import time, and the app never imports
torch. Split: :mod:`~pathways.app.data` (read-only, cached access to a store),
:mod:`~pathways.app.figures` (DataFrame → figure), :mod:`~pathways.app.layout`,
:mod:`~pathways.app.callbacks`, and :mod:`~pathways.app.ids` (component ids).
"""

from pathways.app.factory import create_app

__all__ = ["create_app"]
