"""The Signatures view's ablation panel: switch chosen units of the layer off and see what the
network does without them — each chosen class's calls before and after, and one sample's.

The units offered are the layer's live units (conv channels: one entry each) in the order of
the sort class's selectivity, its five most selective chosen to start with. The network runs in
the explorer's worker process (:mod:`pathways.app.worker`) on the interventions stage's seeded
test samples; the value a unit is set to is the trained classes' mean there (or zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import Dash, Input, Output, State, dcc, html

from pathways.analysis.interventions import unit_index
from pathways.app import ids
from pathways.app.reader import StoreReader
from pathways.app.view import ROW, picker, table
from pathways.app.worker import Worker
from pathways.errors import PathwaysError, StoreError
from pathways.store.summaries import class_label

ABLATE_UNITS = "ablate-units"
ABLATE_VALUE = "ablate-value"
ABLATE_SAMPLE = "ablate-sample"
ABLATE_RUN = "ablate-run"
ABLATE_RESULT = "ablate-result"
LIVE = "pathways.stages.interventions_live:ablate_units"
"""The worker's function (by name: the explorer does not import torch)."""
PRESET = 5
"""Units chosen to start with: the sort class's most selective."""


def layout(state: Mapping[str, Any]) -> list:
    units = dcc.Dropdown(
        id=ABLATE_UNITS,
        multi=True,
        options=state.get("ablate_options", []),
        value=state.get("ablate_units", []),
    )
    value = dcc.RadioItems(
        id=ABLATE_VALUE,
        options=[
            {"label": "trained classes' mean", "value": "mean"},
            {"label": "zero", "value": "zero"},
        ],
        value="mean",
        inline=True,
    )
    sample = dcc.Input(
        id=ABLATE_SAMPLE, type="number", min=0, step=1, value=state.get("ablate_sample")
    )
    return [
        html.H4("Switch units off", style={"padding": "0 16px", "margin": "8px 0 0"}),
        html.Div(
            [
                html.Div(picker("units of this layer", units), style={"minWidth": "420px"}),
                picker("set them to", value),
                picker("and follow sample", sample),
                html.Button("switch off", id=ABLATE_RUN, n_clicks=0),
            ],
            style={**ROW, "padding": "4px 16px"},
        ),
        dcc.Loading(html.Div(id=ABLATE_RESULT, role="region", style={"padding": "8px 16px"})),
    ]


class AblationPanel:
    """The panel's callbacks: the units on offer, and the network's calls without them."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.worker = Worker()

    def choices(self, run: str, model: str, layer: str, sort_class: int | None) -> tuple:
        """The layer's live units (channels), most selective for ``sort_class`` first; its top
        ones chosen; a test sample of ``sort_class`` to follow."""
        try:
            sig = self.reader.signatures(run, model)
            dead = set(self.reader.dead_units(run, model).get(layer, []))
            samples = self.reader.samples(run, model)
        except StoreError:
            return [], [], None
        sig = sig[(sig["layer"] == layer) & ~sig["unit"].isin(dead)]
        mine = sig[sig["class"] == sort_class].sort_values("selectivity", ascending=False)
        ranked = (mine if len(mine) else sig)["unit"].astype(str)
        named = dict(zip(ranked.map(unit_index), ranked, strict=True))  # index → a stored name
        order = list(named)
        if ranked.str.contains("_").any():  # conv parts ("mean_3", "max_3"): one channel each
            options = [{"label": f"channel {u}", "value": u} for u in order]
        else:  # dense units by their stored names, as the figures above show them
            options = [{"label": f"unit {named[u]}", "value": u} for u in order]
        test = samples[(samples["label"] == sort_class) & (samples["split"] == "test")]
        sample = int(test["sample_id"].iloc[0]) if len(test) else None
        return options, order[:PRESET], sample

    def ablate(
        self,
        clicks: int,
        run: str,
        model: str,
        layer: str,
        classes: list[int],
        units: list[int],
        value: str,
        sample_id: Any,
    ) -> Any:
        if not units:
            return html.P("choose units to switch off")
        try:
            found = self.worker.call(
                LIVE,
                store=str(self.reader.store),
                run=run,
                model=model,
                layer=layer,
                units=[int(u) for u in units],
                classes=[int(c) for c in classes or []],
                sample_id=None if sample_id is None else int(sample_id),
                ablation=value,
            )
        except PathwaysError as exc:
            return html.P(str(exc), role="alert", style={"color": "#b00020"})
        return result_view(found, self.reader.class_names(run))

    def initial(self, state: Mapping[str, Any]) -> dict[str, Any]:
        options, units, sample = self.choices(
            state["run"], state["model"], state["layer"], state.get("sort_class")
        )
        return {"ablate_options": options, "ablate_units": units, "ablate_sample": sample}


def result_view(found: Mapping[str, Any], names: Mapping[int, str]) -> html.Div:
    """A headline per class (accuracy for a trained class, its calls for an unseen one), a table
    of every class's calls before → after, and the followed sample's call."""
    trained = found["trained"]
    headline = (
        f"{len(found['units'])} of {found['n_units']} units of {found['layer']} set to "
        f"{'the trained classes’ mean' if found['ablation'] == 'mean' else 'zero'}:"
    )
    accuracy = [
        f"{class_label(e['class'], names)} {e['before'][str(e['class'])]:.2f} → "
        f"{e['after'][str(e['class'])]:.2f}"
        for e in found["classes"]
        if e["trained"]
    ]
    if accuracy:
        headline += " accuracy " + ", ".join(accuracy) + "."
    rows = []
    for entry in found["classes"]:
        cells = [class_label(entry["class"], names) + ("" if entry["trained"] else " (unseen)")]
        cells.append(entry["n"])
        for c in trained:
            before, after = entry["before"][str(c)], entry["after"][str(c)]
            cells.append(f"{before:.2f} → {after:.2f}")
        rows.append(cells)
    header = ["class", "samples", *[f"called {class_label(c, names)}" for c in trained]]
    parts: list[Any] = [html.P(headline), table(header, rows)]
    sample = found.get("sample")
    if sample:
        before, after = sample["before"], sample["after"]
        parts.append(
            html.P(
                f"sample {sample['sample_id']} ({class_label(sample['label'], names)}): called "
                f"{class_label(before['call'], names)} ({before['confidence']:.2f}) → "
                f"{class_label(after['call'], names)} ({after['confidence']:.2f})",
                id="ablate-sample-line",
            )
        )
    return html.Div(parts)


def register(app: Dash, panel: AblationPanel, sort_input: Input) -> None:
    app.callback(
        Output(ABLATE_UNITS, "options"),
        Output(ABLATE_UNITS, "value"),
        Output(ABLATE_SAMPLE, "value"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.LAYER, "value"),
        sort_input,
    )(panel.choices)
    app.callback(
        Output(ABLATE_RESULT, "children"),
        Input(ABLATE_RUN, "n_clicks"),
        State(ids.RUN, "value"),
        State(ids.MODEL, "value"),
        State(ids.LAYER, "value"),
        State(ids.CLASSES, "value"),
        State(ABLATE_UNITS, "value"),
        State(ABLATE_VALUE, "value"),
        State(ABLATE_SAMPLE, "value"),
    )(panel.ablate)
