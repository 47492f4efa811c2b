"""The page around the views: the shared pickers on top, a message line, one tab per view.

The pickers (run, model, layer, classes, colour) are what every view reads; their callbacks
fill the model, layer and class choices when the run or model changes. The page is served
filled in (:meth:`Frame.initial`): the pickers' first options and each view's ``initial``
(the embedding's first map among them), so loading it fires no callback.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html, no_update

from pathways.app import ids
from pathways.app.figures import COLOUR_BY
from pathways.app.reader import StoreReader
from pathways.app.view import ROW, picker
from pathways.app.views import VIEWS
from pathways.errors import StoreError


class Frame:
    """The shared pickers' callbacks, and the page's first state."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.views = {name: view.callbacks(reader) for name, view in VIEWS.items()}

    def models(self, run: str | None) -> tuple[list[str], str | None, str]:
        if not run:
            return [], None, f"no runs in {self.reader.store} — run `pathways run` first"
        try:
            models = self.reader.models(run)
        except StoreError as exc:
            return [], None, str(exc)
        return models, models[0], ""

    def model_options(self, run: str | None, model: str | None) -> tuple:
        """Layers (the last hidden one chosen), classes (all chosen) and a message."""
        if not run or not model:
            return [], None, [], [], no_update
        try:
            self.reader.check_model(run, model)
            layers = self.reader.layers(run, model)
            trained, unseen = self.reader.classes(run)
        except StoreError as exc:
            return [], None, [], [], str(exc)
        hidden = [layer for layer in layers if layer != "logit"]
        classes = trained + unseen
        names = self.reader.class_names(run)
        options = [
            {"label": names.get(c, str(c)) + ("" if c in trained else " (unseen)"), "value": c}
            for c in classes
        ]
        return layers, hidden[-1] if hidden else layers[-1], options, classes, ""

    def initial(self, runs: list[str]) -> dict[str, Any]:
        """The pickers' first options and values for the first run, and each view's own."""
        if not runs:
            return {"message": f"no runs in {self.reader.store} — run `pathways run` first"}
        models, model, message = self.models(runs[0])
        if not model:
            return {"models": models, "message": message}
        layers, layer, class_options, classes, message = self.model_options(runs[0], model)
        state = {
            "run": runs[0],
            "models": models,
            "model": model,
            "layers": layers,
            "layer": layer,
            "class_options": class_options,
            "classes": classes,
            "message": message,
        }
        if message:
            return state
        for name, callbacks in self.views.items():
            if hasattr(callbacks, "initial"):
                given = callbacks.initial(state)
                if set(given) & set(state):  # two views' keys would silently overwrite
                    raise ValueError(f"view {name}: initial keys {sorted(set(given) & set(state))}")
                state |= given
        return state

    def register(self, app: Dash) -> None:
        """Wire the shared pickers, then every view. None fires when the page loads (the app
        is built with ``prevent_initial_callbacks``); a hidden view computes when its tab is
        opened."""
        app.callback(
            Output(ids.MODEL, "options"),
            Output(ids.MODEL, "value"),
            Output(ids.MESSAGE, "children", allow_duplicate=True),
            Input(ids.RUN, "value"),
        )(self.models)
        app.callback(
            Output(ids.LAYER, "options"),
            Output(ids.LAYER, "value"),
            Output(ids.CLASSES, "options"),
            Output(ids.CLASSES, "value"),
            Output(ids.MESSAGE, "children"),
            Input(ids.RUN, "value"),
            Input(ids.MODEL, "value"),
        )(self.model_options)
        for name, view in VIEWS.items():
            view.register(app, self.views[name])


def _dropdown(id_: str, state: dict[str, Any], options: str, value: str, **extra: Any) -> Any:
    return dcc.Dropdown(
        id=id_, options=state.get(options, []), value=state.get(value), clearable=False, **extra
    )


def build_layout(runs: list[str], state: dict | None = None) -> html.Div:
    """The whole page; ``runs`` fills the run picker (read when the page is served) and
    ``state`` (:meth:`Frame.initial`) the pickers and the views."""
    state = state or {}
    run = dcc.Dropdown(id=ids.RUN, options=runs, value=runs[0] if runs else None, clearable=False)
    classes = dcc.Dropdown(
        id=ids.CLASSES,
        multi=True,
        options=state.get("class_options", []),
        value=state.get("classes"),
    )
    colour = dcc.RadioItems(id=ids.COLOUR, options=list(COLOUR_BY), value="class", inline=True)
    header = html.Div(
        [
            html.H2("pathways explorer", style={"margin": "0 16px 0 0"}),
            picker("run", run),
            picker("model", _dropdown(ids.MODEL, state, "models", "model")),
            picker("layer", _dropdown(ids.LAYER, state, "layers", "layer")),
            html.Div(picker("classes to compare", classes), style={"minWidth": "260px"}),
            picker("colour by", colour),
        ],
        style={**ROW, "padding": "10px 16px", "borderBottom": "1px solid #ddd"},
    )
    message = html.Div(
        state.get("message", ""),
        id=ids.MESSAGE,
        role="status",
        style={"color": "#b00020", "padding": "6px 16px", "minHeight": "1.2em"},
    )
    tabs = dcc.Tabs(
        id=ids.TABS,
        value=next(iter(VIEWS)),
        children=[
            dcc.Tab(label=view.label, value=name, children=view.layout(state))
            for name, view in VIEWS.items()
        ],
    )
    return html.Div([header, message, tabs], style={"fontFamily": "system-ui, sans-serif"})
