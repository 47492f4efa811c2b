"""The Sample view: one sample's image, prediction, path, activations and nearest trained samples."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from dash import Dash, Input, Output, dcc, html

from pathways.analysis.novelty_reasons import reason_text
from pathways.analysis.novelty_scores import ours_method
from pathways.app import ids
from pathways.app.figures import class_colour, figure_layout, message_figure
from pathways.app.reader import StoreReader
from pathways.app.view import ROW, View, graph, on_tab, picker
from pathways.errors import StoreError
from pathways.store.summaries import class_label

NAME = "sample"
"""The view's tab (its registry name)."""
SAMPLE_ID = "sample-id"
SAMPLE_IMAGE = "sample-image"
SAMPLE_INFO = "sample-info"
SAMPLE_ACTIVATIONS = "sample-activations"
SAMPLE_NEIGHBOURS = "sample-neighbours"
SAMPLE_REASON = "sample-reason"


def layout(state: Mapping[str, Any]) -> list:
    sample_id = dcc.Input(id=SAMPLE_ID, type="number", min=0, step=1, value=0, debounce=True)
    image = html.Img(
        id=SAMPLE_IMAGE,
        style={"width": "168px", "imageRendering": "pixelated", "border": "1px solid #ccc"},
    )
    return [
        html.Div([picker("sample id", sample_id)], style={"padding": "8px 16px"}),
        html.Div([image, html.Div(id=SAMPLE_INFO)], style={**ROW, "padding": "0 16px"}),
        graph(SAMPLE_ACTIVATIONS, 420),
        html.H4("Nearest trained samples at this layer", style={"padding": "0 16px"}),
        html.Div(id=SAMPLE_NEIGHBOURS, style={**ROW, "padding": "0 16px"}),
    ]


class SampleView:
    """One sample: its image, prediction, path, activations against the class signatures, and
    its nearest trained samples at the layer."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def sample(self, run: str, model: str, layer: str, sample_id: Any, classes: list[int]) -> tuple:
        try:
            samples = self.reader.samples(run, model)
            if sample_id is None or int(sample_id) not in set(samples["sample_id"]):
                raise StoreError(
                    f"no sample {sample_id} — sample ids run from 0 to {len(samples) - 1}"
                )
            sid = int(sample_id)
            row = samples.set_index("sample_id").loc[sid]
            path = self.reader.sample_paths(run, model).set_index("sample_id").loc[sid, "path"]
            units, values = self.reader.layer_values(run, model, layer)
            signatures = self.reader.signatures(run, model)
        except (StoreError, KeyError, ValueError) as exc:
            return "", html.P(str(exc)), message_figure(str(exc)), []
        info = html.Ul(
            [
                html.Li(
                    f"sample {sid} (source index {row['source_index']}), label {row['label']} — {'trained class' if row['seen'] else 'unseen class'}, {row['split']} split"
                ),
                html.Li(
                    f"predicted {row['predicted_class']} with confidence {row['confidence']:.3f}"
                ),
                html.Li(f"path {path}"),
                *self._novelty_items(run, model, sid),
            ]
        )
        layer_sig = signatures[signatures["layer"] == layer]
        classes = [int(c) for c in classes or []]
        figure = sample_activation_figure(
            units, values[sid], layer_sig, classes, layer, int(row["label"])
        )
        reference = (samples["seen"] & (samples["split"] == "train")).to_numpy()
        candidates = np.flatnonzero(reference & (samples["sample_id"].to_numpy() != sid))
        distances = np.linalg.norm(values[candidates] - values[sid], axis=1)
        nearest = candidates[np.argsort(distances)[:6]]
        neighbours = [
            html.Figure(
                [
                    html.Img(
                        src=self.reader.image_uri(run, int(n), 2),
                        style={"width": "56px", "imageRendering": "pixelated"},
                    ),
                    html.Figcaption(
                        f"#{int(n)}: {int(samples['label'].iloc[n])}", style={"fontSize": "11px"}
                    ),
                ],
                style={"margin": "4px"},
            )
            for n in nearest
        ]
        return self.reader.image_uri(run, sid, 6), info, figure, neighbours

    def _novelty_items(self, run: str, model: str, sid: int) -> list:
        """How unusual the sample is by the default score, whether it is flagged, and why
        (nothing for a run made before reasons were stored)."""
        try:
            scores, metrics = self.reader.novelty(run, model)
            reasons = self.reader.novelty_reasons(run, model).set_index("sample_id")
            target = self.reader.novelty_target(run, model)
        except StoreError:
            return []
        row = scores.set_index("sample_id").loc[sid]
        ours = ours_method(metrics)
        decision = {
            "screened": "flagged as novel" if row["novel"] else "not flagged",
            "calibration": "a calibration sample (not screened)",
            "fit": "a fitted sample (not screened)",
        }.get(str(row["role"]), "not screened (only test samples are)")
        rate = f" at a false discovery rate of {100 * target:g} %" if target else ""
        return [
            html.Li(
                f"novelty {ours} {row[ours]:.1f}, conformal p = {row['pvalue']:.3g}: "
                f"{decision}{rate if row['role'] == 'screened' else ''}"
            ),
            html.Li(
                ["why: ", html.Span(reason_text(reasons.loc[sid], self._namer(run), code=""))],
                id=SAMPLE_REASON,
            ),
        ]

    def _namer(self, run: str) -> Any:
        names = self.reader.class_names(run)
        return lambda c: class_label(c, names)


def register(app: Dash, view: SampleView) -> None:
    app.callback(
        Output(SAMPLE_IMAGE, "src"),
        Output(SAMPLE_INFO, "children"),
        Output(SAMPLE_ACTIVATIONS, "figure"),
        Output(SAMPLE_NEIGHBOURS, "children"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.LAYER, "value"),
        Input(SAMPLE_ID, "value"),
        Input(ids.CLASSES, "value"),
        ids.TAB,
    )(on_tab(NAME, view.sample, 4))


def farthest_units(
    values: np.ndarray, signature: pd.DataFrame, units: list[str], top: int
) -> np.ndarray:
    """Indices of the ``top`` units where ``values`` lie farthest from ``signature``'s means
    (|activation − class mean|), farthest first; by |activation| without a signature."""
    if signature.empty:
        return np.argsort(-np.abs(values), kind="stable")[:top]
    means = signature.set_index("unit")["mean"].reindex(units).to_numpy(np.float64)
    return np.argsort(-np.abs(values - np.nan_to_num(means)), kind="stable")[:top]


def sample_activation_figure(
    units: list[str],
    values: np.ndarray,
    signatures: pd.DataFrame,
    classes: list[int],
    layer: str,
    label: int,
    top: int = 20,
) -> dict[str, Any]:
    """One sample's activations at the ``top`` units where it is farthest from its own class's
    signature (class ``label``), against each chosen class's mean (±1 std as error bars)."""
    order = farthest_units(values, signatures[signatures["class"] == label], units, top)
    shown = [units[i] for i in order]
    traces = [
        {
            "type": "bar",
            "name": "this sample",
            "x": shown,
            "y": values[order],
            "marker": {"color": "#444"},
        }
    ]
    for c in classes:
        part = signatures[signatures["class"] == c].set_index("unit").reindex(shown)
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"class {c} mean ± std",
                "x": shown,
                "y": part["mean"].to_numpy(),
                "error_y": {"type": "data", "array": part["std"].to_numpy(), "visible": True},
                "marker": {"color": class_colour(c, classes), "size": 7},
            }
        )
    which = (
        f"the {len(shown)} of {len(units)} units"
        if len(shown) < len(units)
        else (f"all {len(units)} units")
    )
    return {
        "data": traces,
        "layout": figure_layout(
            f"{layer}: {which} where this sample is farthest from the class {label} "
            "signature (|activation − class mean|), against the class signatures",
            xaxis={"type": "category", "title": {"text": "unit (farthest first)"}},
            yaxis={"title": {"text": "activation"}},
        ),
    }


VIEW = View(NAME, "Sample", layout, SampleView, register)
