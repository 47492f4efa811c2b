"""What an explorer view is, and the parts views are built from.

A view is one module in :mod:`pathways.app.views` holding its layout, its callbacks (methods
of one class over the store's reader, so tests call them directly) and its figures, and one
:class:`View` entry in that package's registry. The page (:mod:`pathways.app.frame`) shows
every registered view as a tab, in registry order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dash import Dash, dcc, html, no_update

ROW = {"display": "flex", "gap": "12px", "alignItems": "end", "flexWrap": "wrap"}


@dataclass(frozen=True)
class View:
    """A tab of the explorer.

    ``layout(state)``: the tab's components, given the page's first state (run, model, layer,
    classes, and what the view's ``initial`` added). ``callbacks(reader)``: the object whose
    methods are its callbacks; if it has ``initial(state) -> dict``, that fills its pickers
    (and figures) when the page is served. ``register(app, callbacks)``: wires them.
    """

    name: str
    label: str
    layout: Callable[[Mapping[str, Any]], list]
    callbacks: Callable[[Any], Any]
    register: Callable[[Dash, Any], None]


def picker(label: str, component: Any) -> html.Div:
    return html.Div(
        [html.Label(label, style={"fontSize": "12px", "color": "#555"}), component],
        style={"minWidth": "160px"},
    )


def graph(id_: str, height: int | None = 520, figure: dict | None = None) -> dcc.Graph:
    """A graph ``height`` pixels tall (None: as tall as its figure's layout says)."""
    extra = {"figure": figure} if figure is not None else {}
    style = {"height": f"{height}px"} if height else {}
    return dcc.Graph(id=id_, style=style, config={"displaylogo": False}, **extra)


def on_tab(tab: str, function: Any, n_outputs: int) -> Any:
    """Run ``function`` only while its tab is shown: hidden views cost nothing (the page's first
    load then computes the embedding alone); switching to a tab fires its callback."""

    def wrapper(*args: Any) -> Any:
        *values, active = args
        if active != tab:
            return no_update if n_outputs == 1 else (no_update,) * n_outputs
        return function(*values)

    return wrapper


CELL = {"padding": "3px 14px", "borderBottom": "1px solid #e2e2e2", "textAlign": "left"}
HEADER_CELL = {**CELL, "borderBottom": "2px solid #bbb", "fontWeight": 600}


def table(header: list[str], rows: list[list[Any]], font_size: str = "13px") -> html.Table:
    """A table whose columns read as columns: padded cells, a rule under every row."""
    return html.Table(
        [html.Tr([html.Th(h, style=HEADER_CELL) for h in header])]
        + [html.Tr([html.Td(value, style=CELL) for value in row]) for row in rows],
        style={"fontSize": font_size, "borderCollapse": "collapse"},
    )
