"""``create_app(store)``: the explorer over one store."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from pathways.app.callbacks import Callbacks, register
from pathways.app.data import StoreReader
from pathways.app.layout import build_layout


def create_app(store: str | Path) -> Dash:
    """A Dash app exploring the runs in ``store``. Nothing is read until a page is served."""
    reader = StoreReader(store)
    app = Dash(__name__, title="pathways explorer", suppress_callback_exceptions=True)
    app.layout = lambda: build_layout(reader.runs())  # runs are listed when the page is served
    register(app, Callbacks(reader))
    app.server.config["PATHWAYS_READER"] = reader
    return app
