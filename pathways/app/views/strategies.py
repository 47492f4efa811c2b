"""The Strategies view: the ways the network recognises one trained class (SpRAy).

For the chosen class: the 2-D map of its explanations coloured by strategy, each strategy's
mean attribution map, the chosen strategy's members, and the paths its members take through the
layers (highlighted against the class's other samples in a Sankey).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from pathways.analysis.paths import transitions
from pathways.analysis.strategies_report import METHOD_NAMES
from pathways.app import ids
from pathways.app.figures import PALETTE, figure_layout, message_figure
from pathways.app.reader import StoreReader
from pathways.app.view import ROW, View, graph, on_tab, picker
from pathways.app.views.explain_figures import image_panels
from pathways.app.views.paths import sankey_figure
from pathways.errors import StoreError

NAME = "strategies"
"""The view's tab (its registry name)."""
CLASS = "strategies-class"
STRATEGY = "strategies-strategy"
SUMMARY = "strategies-summary"
MAP = "strategies-map"
MEANS = "strategies-means"
MEMBERS = "strategies-members"
SANKEY = "strategies-sankey"
MEMBERS_SHOWN = 16
"""Member thumbnails shown per strategy (the first in sample order)."""


def layout(state: Mapping[str, Any]) -> list:
    pad = {"padding": "8px 16px"}
    return [
        html.Div(
            [
                picker("trained class", dcc.Dropdown(id=CLASS, clearable=False)),
                html.Div(
                    picker("strategy", dcc.Dropdown(id=STRATEGY, clearable=False)),
                    style={"width": "560px"},
                ),
            ],
            style={**ROW, **pad},
        ),
        html.Div(id=SUMMARY, role="status", style=pad),
        graph(MEANS, None),
        html.Div([graph(MAP, 460)], style={"display": "flex"}),
        html.Div(id=MEMBERS, style={**pad, "display": "flex", "flexWrap": "wrap", "gap": "4px"}),
        graph(SANKEY, 520),
    ]


class StrategiesView:
    """One trained class's strategies, from the ``strategies`` step."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def classes(self, run: str, model: str) -> tuple:
        """The class picker's options (the model's trained classes) and a message."""
        try:
            found = self.reader.strategies(run, model)
        except StoreError as exc:
            return [], None, str(exc)
        name = self._namer(run)
        options = [
            {"label": f"{name(c)} · {k} strateg{'y' if k == 1 else 'ies'}", "value": int(c)}
            for c, k in zip(found["classes"]["class"], found["classes"]["k"], strict=True)
        ]
        return options, options[0]["value"] if options else None, ""

    def strategies(self, run: str, model: str, cls: Any) -> tuple:
        """The strategy picker's options for class ``cls`` and the class's summary line."""
        try:
            found = self.reader.strategies(run, model)
        except StoreError as exc:
            return [], None, str(exc)
        table = found["strategies"][found["strategies"]["class"] == cls]
        options = [
            {
                "label": f"strategy {r.strategy} · {100 * r.share:.0f} % · {r.region} · "
                f"path {r.path}",
                "value": int(r.strategy),
            }
            for r in table.itertuples()
        ]
        return options, options[0]["value"] if options else None, self._summary(found, cls, run)

    def _summary(self, found: Mapping[str, Any], cls: Any, run: str) -> str:
        row = found["classes"][found["classes"]["class"] == cls].iloc[0]
        k, n, n_paths = int(row["k"]), int(row["n"]), int(row["paths"])
        s = found["settings"]
        text = (
            f"{self._namer(run)(cls)}: {k} strateg{'y' if k == 1 else 'ies'} "
            f"among {n} {s['split']} samples ({METHOD_NAMES.get(s['method'], s['method'])} maps, "
            f"{'eigengap' if s['clustering'] == 'spectral' else 'HDBSCAN'})"
        )
        if pd.notna(row["nmi"]) and k > 1 and n_paths > 1:
            text += (
                f"; against their {n_paths} paths: NMI {row['nmi']:.2f}, "
                f"ARI {row['ari']:.2f}, p = {row['nmi_p_value']:.3g}"
            )
        return text + (f". {s['method_note']}." if s.get("method_note") else ".")

    def figures(self, run: str, model: str, cls: Any, strategy: Any) -> tuple:
        """The mean maps, the 2-D map, the members and the Sankey of one strategy."""
        try:
            found = self.reader.strategies(run, model)
            paths = self.reader.sample_paths(run, model)
        except StoreError as exc:
            figure = message_figure(str(exc))
            return figure, figure, [], figure
        table = found["strategies"][found["strategies"]["class"] == cls]
        members = found["members"][found["members"]["class"] == cls]
        name = self._namer(run)(cls)
        means = mean_maps(table, found["mean_maps"], name)
        chosen = members[members["strategy"] == strategy]["sample_id"].to_numpy()
        thumbnails = [
            html.Img(src=self.reader.image_uri(run, int(s), 2), title=f"sample {int(s)}")
            for s in chosen[:MEMBERS_SHOWN]
        ]
        return (
            means,
            strategy_map(members, strategy, name),
            [html.Div(f"{len(chosen)} members; the first {len(thumbnails)}:"), *thumbnails],
            strategy_sankey(paths, members, strategy, name),
        )

    def _namer(self, run: str) -> Any:
        names = self.reader.class_names(run)
        return lambda c: names.get(int(c), str(c))


def mean_maps(table: pd.DataFrame, maps: np.ndarray, name: str) -> dict[str, Any]:
    """Each strategy's mean attribution map, side by side (red: evidence for the class)."""
    if table.empty:
        return message_figure("no strategies for this class")
    panels = [
        {
            "title": f"strategy {r.strategy} · {100 * r.share:.0f} %<br>{r.region}" + _checked(r),
            "z": np.asarray(maps[int(r.index)]),
            "kind": "signed",
        }
        for r in table.itertuples()
    ]
    figure = image_panels(panels, f"how {name} is recognised: each strategy's mean map", 260)
    figure["layout"]["margin"]["t"] = 110  # three title lines per panel below the figure's
    return figure


def _checked(r: Any) -> str:
    """The strategy's check by masking, in a panel title's third line."""
    drop, others = getattr(r, "masked_drop", None), getattr(r, "masked_drop_elsewhere", None)
    if drop is None or others is None or pd.isna(others):
        return ""
    low = getattr(r, "masked_gap_low", float("nan"))
    verdict = "confirmed" if low > 0 else "not confirmed"
    return f"<br>masked: margin −{drop:.1f} vs −{others:.1f} ({verdict})"


def strategy_map(members: pd.DataFrame, strategy: Any, name: str) -> dict[str, Any]:
    """The 2-D map of the class's maps (the spectral embedding's first two coordinates)."""
    data = []
    for s, group in members.groupby("strategy", sort=True):
        data.append(
            {
                "type": "scattergl",
                "mode": "markers",
                "name": f"strategy {s}",
                "x": group["map_x"].round(5).tolist(),
                "y": group["map_y"].round(5).tolist(),
                "text": [
                    f"sample {i} · path {p}"
                    for i, p in zip(group["sample_id"], group["path"], strict=True)
                ],
                "hovertemplate": "%{text}<extra>%{fullData.name}</extra>",
                "marker": {
                    "size": 9 if s == strategy else 6,
                    "color": PALETTE[int(s) % len(PALETTE)] if s >= 0 else "#999999",
                    "opacity": 1.0 if s == strategy else 0.35,
                },
            }
        )
    return {
        "data": data,
        "layout": figure_layout(
            f"{name}'s explanations, one point each (spectral embedding)",
            xaxis={"title": {"text": "eigenvector 1"}},
            yaxis={"title": {"text": "eigenvector 2"}},
        ),
    }


def strategy_sankey(
    paths: pd.DataFrame, members: pd.DataFrame, strategy: Any, name: str
) -> dict[str, Any]:
    """The layers' clusters the chosen strategy's members pass through (coloured) against the
    class's other explained samples (grey)."""
    rows = paths.set_index("sample_id").loc[members["sample_id"].to_numpy()]
    layers = [c for c in rows.columns if c.startswith("cluster_")]
    table = rows[layers].rename(columns=lambda c: c.removeprefix("cluster_"))
    group = np.where(members["strategy"].to_numpy() == strategy, 0, 1)
    flows = transitions(table.reset_index(drop=True), group)
    names = {0: f"strategy {strategy}", 1: f"other {name}s"}
    title = f"the paths of strategy {strategy} (coloured) and of the other {name}s explained"
    colours = {
        0: PALETTE[int(strategy) % len(PALETTE)] if strategy >= 0 else "#555555",
        1: "#bbbbbb",
    }
    return sankey_figure(flows, [0, 1], [0, 1], names, colours, title)


def register(app: Dash, view: StrategiesView) -> None:
    run, model = Input(ids.RUN, "value"), Input(ids.MODEL, "value")
    app.callback(
        Output(CLASS, "options"), Output(CLASS, "value"), Output(SUMMARY, "children"),
        run, model, ids.TAB,
    )(on_tab(NAME, view.classes, 3))  # fmt: skip
    picked = [State(ids.RUN, "value"), State(ids.MODEL, "value")]
    app.callback(
        Output(STRATEGY, "options"),
        Output(STRATEGY, "value"),
        Output(SUMMARY, "children", allow_duplicate=True),
        Input(CLASS, "value"),
        *picked,
        prevent_initial_call=True,
    )(lambda c, r, m: view.strategies(r, m, c) if c is not None else (no_update,) * 3)
    app.callback(
        Output(MEANS, "figure"),
        Output(MAP, "figure"),
        Output(MEMBERS, "children"),
        Output(SANKEY, "figure"),
        Input(STRATEGY, "value"),
        State(CLASS, "value"),
        *picked,
        prevent_initial_call=True,
    )(lambda s, c, r, m: view.figures(r, m, c, s) if s is not None else (no_update,) * 4)


VIEW = View(NAME, "Strategies", layout, StrategiesView, register)
