"""``create_app(store)``: the explorer over one store."""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from pathways.app.frame import Frame, build_layout
from pathways.app.reader import StoreReader


def create_app(store: str | Path) -> Dash:
    """A Dash app exploring the runs in ``store``. Nothing is read until a page is served."""
    reader = StoreReader(store)
    app = Dash(
        __name__,
        title="pathways explorer",
        suppress_callback_exceptions=True,
        prevent_initial_callbacks=True,  # the page is served filled in (see Frame.register)
    )
    frame = Frame(reader)

    def layout():  # noqa: ANN202 - served per page load: runs are listed then, not at import
        runs = reader.runs()
        return build_layout(runs, frame.initial(runs))

    app.layout = layout
    frame.register(app)
    app.server.config["PATHWAYS_READER"] = reader
    return app
