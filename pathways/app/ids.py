"""Ids of the page's shared components (the pickers above the views), and the inputs views
listen to. Each view declares its own components' ids in its module."""

from dash import Input

RUN = "run"
MODEL = "model"
LAYER = "layer"
CLASSES = "classes"
COLOUR = "colour-by"
MESSAGE = "message"
TABS = "tabs"

TAB = Input(TABS, "value")
"""The open tab: a view computes only while its tab is shown (see :func:`view.on_tab`)."""
VIEW_INPUTS = [
    Input(RUN, "value"),
    Input(MODEL, "value"),
    Input(LAYER, "value"),
    Input(CLASSES, "value"),
]
"""What most views show depends on: run, model, layer and the classes to compare."""
