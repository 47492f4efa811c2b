"""The Explain view: one explained sample, one cluster's mean maps, the rotation study.

Every model has them; a method that does not apply to a model (Grad-CAM without spatial
layers, the DeconvNet through batch norm or a residual addition) is not drawn, and a line under
the panels says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from dash import Dash, Input, Output, State, dcc, html, no_update

from pathways.app import ids
from pathways.app.figures import message_figure
from pathways.app.reader import StoreReader
from pathways.app.view import ROW, View, graph, on_tab, picker
from pathways.app.views import explain_figures as figs
from pathways.errors import StoreError
from pathways.store.summaries import class_label

NAME = "explain"
"""The view's tab (its registry name)."""
EXPLAIN_SAMPLE = "explain-sample"
EXPLAIN_INFO = "explain-info"
EXPLAIN_PANELS = "explain-panels"
EXPLAIN_MAPS = "explain-maps"
EXPLAIN_CLUSTER = "explain-cluster"
EXPLAIN_CLUSTER_PANELS = "explain-cluster-panels"
ROTATION_CURVES = "rotation-curves"
ROTATION_DRIFT = "rotation-drift"
EXPLAIN_MAPS_BOX = "explain-maps-box"
SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}


def layout(state: Mapping[str, Any]) -> list:
    """CNN interpretation: one explained sample, one cluster's mean maps, the rotation study."""
    pad = {"padding": "8px 16px"}
    sample = dcc.Dropdown(id=EXPLAIN_SAMPLE, clearable=False)
    cluster = dcc.Dropdown(id=EXPLAIN_CLUSTER, clearable=False)
    return [
        html.Div(
            [
                html.Div(picker("explained sample", sample), style={"width": "480px"}),
                html.Div(id=EXPLAIN_INFO, role="status", style={"paddingBottom": "8px"}),
            ],
            style={**ROW, **pad},
        ),
        graph(EXPLAIN_PANELS, None),
        html.Div(graph(EXPLAIN_MAPS, None), id=EXPLAIN_MAPS_BOX),
        html.Div(
            picker("cluster (its members' mean maps)", cluster), style={**pad, "width": "640px"}
        ),
        graph(EXPLAIN_CLUSTER_PANELS, None),
        graph(ROTATION_CURVES, 380),
        graph(ROTATION_DRIFT, 360),
    ]


class ExplainView:
    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    def pickers(self, run: str, model: str, classes: list[int]) -> tuple:
        """Options of the sample and cluster pickers (explained samples of the chosen classes)."""
        try:
            explained = self.reader.explained(run, model)
            clusters = self.reader.explain_clusters(run, model)
            cluster_options = cluster_choices(
                clusters, self.reader.cluster_composition(run, model), self._namer(run)
            )
        except StoreError as exc:
            return [], None, [], None, str(exc)
        wanted = {int(c) for c in classes or []}
        name = self._namer(run)
        examples = explained[explained["example"]]
        if wanted:
            examples = examples[examples["label"].isin(wanted)]
        samples = [
            {
                "label": f"sample {r.sample_id} · {name(r.label)}"
                f"{'' if r.seen else ' (unseen)'} → {name(r.predicted_class)} ({r.confidence:.2f})",
                "value": int(r.sample_id),
            }
            for r in examples.itertuples()
        ]
        return (
            samples,
            samples[0]["value"] if samples else None,
            cluster_options,
            cluster_options[0]["value"] if cluster_options else None,
            "",
        )

    def sample(self, run: str, model: str, sample_id: Any) -> tuple:
        """The sample's panels, its feature maps (an empty figure where the model has none:
        the panels' notes say why) and a line about it."""
        try:
            explained = self.reader.explained(run, model)
            settings = self.reader.explain_settings(run, model)
            matches = explained[explained["sample_id"] == sample_id]
            if sample_id is None or matches.empty:
                raise StoreError("pick an explained sample")
            row = matches.iloc[0]
            i = int(row["row"])
            array = lambda name: self.reader.explain_array(run, model, name)  # noqa: E731
            name = self._namer(run)
            methods = _methods(settings)
            panels = _sample_panels(row, lambda n: array(n)[i], settings, methods, name)
            maps = {n: array(f"maps_{n}")[i] for n in settings["feature_map_layers"]}
        except StoreError as exc:
            return message_figure(str(exc)), message_figure(""), ""
        predicted, true = name(row["predicted_class"]), name(row["label"])
        info = (
            f"sample {row['sample_id']}: {true}"
            f"{' (trained class)' if row['seen'] else ' (unseen class)'}, predicted "
            f"{predicted} with p = {row['confidence']:.3f}"
        )
        notes = _notes(_not_shown(methods))
        if not maps:
            why = settings.get("feature_maps") or "none were stored"
            notes.append(f"feature maps not shown: {why}")
        figure = figs.image_panels(
            panels, f"why sample {row['sample_id']} is called {predicted}", notes=notes
        )
        if not maps:
            return figure, message_figure(""), info
        title = f"feature maps of sample {row['sample_id']}, per layer"
        return figure, figs.feature_map_grid(maps, title), info

    def sample_with_maps_box(self, run: str, model: str, sample_id: Any) -> tuple:
        """:meth:`sample`, and the style of the feature maps' box: hidden when there are none,
        so that no empty figure leaves a gap."""
        panels, maps, info = self.sample(run, model, sample_id)
        return panels, maps, info, SHOWN if maps["data"] else HIDDEN

    def _namer(self, run: str) -> Any:
        names = self.reader.class_names(run)
        return lambda c: class_label(int(c), names)

    def cluster(self, run: str, model: str, index: Any) -> Any:
        try:
            clusters = self.reader.explain_clusters(run, model)
            settings = self.reader.explain_settings(run, model)
            if index is None or int(index) not in set(clusters["index"]):
                raise StoreError("pick a cluster")
            row = clusters.set_index("index").loc[int(index)]
            i = int(index)
            array = lambda name: self.reader.explain_array(run, model, name)  # noqa: E731
            methods = _methods(settings)
            image = array("cluster_image")[i]
            panels = [
                {"title": f"mean of {row['n_used']} members", "z": image},
                {
                    "title": "mean occlusion, predicted class (red supports)",
                    "z": array("cluster_occlusion")[i],
                    "kind": "signed",
                },
            ]
            panels += _attribution_panels(
                methods,
                image,
                (
                    "mean Integrated Gradients, predicted class",
                    lambda: array("cluster_integrated_gradients")[i],
                ),
                (f"mean Grad-CAM at {settings['layer']}", lambda: array("cluster_gradcam")[i]),
            )
        except StoreError as exc:
            return message_figure(str(exc))
        name = self._namer(run)
        counts = ", ".join(
            f"{name(c.removeprefix('count_'))}: {int(row[c])}"
            for c in clusters.columns
            if c.startswith("count_") and row[c] > 0
        )
        notes = _notes([(label, why) for label, why in _not_shown(methods) if label != "DeconvNet"])
        return figs.image_panels(
            panels,
            f"what {row['layer']} cluster {row['cluster']} looks at: means over "
            f"{row['n_used']} of its {row['size']} members, drawn at random ({counts})",
            notes=notes,
        )

    def rotation(self, run: str, model: str, classes: list[int]) -> tuple:
        try:
            curves, drift, drift_layers = self.reader.rotation(run, model)
            trained, unseen = self.reader.classes(run)
        except StoreError as exc:
            return message_figure(str(exc)), message_figure("")
        chosen = [int(c) for c in classes or []] or trained + unseen
        names = self.reader.class_names(run)
        return (
            figs.rotation_curves(curves, chosen, trained, names),
            figs.drift_heatmaps(drift, drift_layers, chosen, names),
        )


_METHOD_NAMES = {
    "integrated_gradients": "Integrated Gradients",
    "gradcam": "Grad-CAM",
    "deconv": "DeconvNet",
}


def _methods(settings: Mapping[str, Any]) -> dict[str, str | None]:
    """Per method, None when it applies, else why not (runs before per-method notes: the
    DeconvNet's ReLU check)."""
    if "methods" in settings:
        return dict(settings["methods"])
    relu = settings.get("deconv") == "relu"
    return {"gradcam": None, "deconv": None if relu else settings.get("deconv", "not computed")}


def _attribution_panels(
    methods: Mapping[str, str | None], image: Any, ig: tuple, gradcam: tuple
) -> list[dict[str, Any]]:
    """The Integrated Gradients and Grad-CAM panels (``(title, load)`` each) of the methods
    that apply (a run from before Integrated Gradients has none of it)."""
    panels = []
    if methods.get("integrated_gradients", "absent") is None:
        panels.append({"title": ig[0], "z": ig[1](), "kind": "signed"})
    if methods["gradcam"] is None:
        panels.append({"title": gradcam[0], "z": image, "overlay": gradcam[1]()})
    return panels


def cluster_choices(
    clusters: pd.DataFrame, composition: pd.DataFrame, name: Any
) -> list[dict[str, Any]]:
    """The cluster picker's options: each cluster's size and its largest class's share of all
    its members (from the clusters step's composition, not of the few drawn for the maps)."""
    options = []
    for r in clusters.itertuples():
        mine = composition[
            (composition["layer"] == r.layer) & (composition["cluster"] == r.cluster)
        ]
        top = mine.loc[mine["n"].idxmax()] if len(mine) else None
        share = (
            f", {int(top['n'])} ({top['n'] / mine['n'].sum():.0%}) of them {name(top['class'])}"
            if top is not None
            else ""
        )
        options.append(
            {
                "label": f"{r.layer} · cluster {r.cluster}: {r.size} samples{share}",
                "value": int(r.index),
            }
        )
    return options


def _not_shown(methods: Mapping[str, str | None]) -> list[tuple[str, str]]:
    return [(_METHOD_NAMES[k], why) for k, why in methods.items() if why and k in _METHOD_NAMES]


def _notes(not_shown: list[tuple[str, str]]) -> list[str]:
    """One line per reason: "Grad-CAM and DeconvNet not shown: <why>"."""
    by_reason: dict[str, list[str]] = {}
    for label, why in not_shown:
        by_reason.setdefault(why, []).append(label)
    return [f"{' and '.join(labels)} not shown: {why}" for why, labels in by_reason.items()]


def _sample_panels(
    row: Any, array: Any, settings: Mapping[str, Any], methods: Mapping[str, Any], name: Any
) -> list[dict[str, Any]]:
    """The panels of one explained sample: its input, its occlusion maps (predicted class; the
    true class for a trained one), and the attributions that apply. Titles are two short lines,
    so that six side by side stay apart. ``array(name)``: this sample's map of that name."""
    image = array("images")
    predicted, true = name(row["predicted_class"]), name(row["label"])
    panels = [
        {"title": f"input ({image.shape[0]}×{image.shape[1]})", "z": image},
        {
            "title": f"occlusion: drop in p({predicted})<br>(predicted; red supports)",
            "z": array("occlusion_predicted"),
            "kind": "signed",
        },
    ]
    if row["seen"]:
        panels.append(
            {
                "title": f"occlusion: drop in p({true})<br>(true class; red supports)",
                "z": array("occlusion_true"),
                "kind": "signed",
            }
        )
    layer = settings["layer"]
    panels += _attribution_panels(
        methods,
        image,
        (f"Integrated Gradients<br>of {predicted}", lambda: array("integrated_gradients")),
        (f"Grad-CAM at {layer}<br>for {predicted}", lambda: array("gradcam")),
    )
    if methods["deconv"] is None:
        panels.append(
            {
                "title": f"DeconvNet: {layer} channel<br>{row['deconv_channel']}"
                f" at ({row['deconv_y']}, {row['deconv_x']})",
                "z": array("deconv"),
                "kind": "signed",
            }
        )
    return panels


def register(app: Dash, callbacks: ExplainView) -> None:
    tab = Input(ids.TABS, "value")
    run, model = Input(ids.RUN, "value"), Input(ids.MODEL, "value")
    classes = Input(ids.CLASSES, "value")
    app.callback(
        Output(EXPLAIN_SAMPLE, "options"),
        Output(EXPLAIN_SAMPLE, "value"),
        Output(EXPLAIN_CLUSTER, "options"),
        Output(EXPLAIN_CLUSTER, "value"),
        Output(EXPLAIN_INFO, "children"),
        run,
        model,
        classes,
        tab,
    )(on_tab(NAME, callbacks.pickers, 5))
    picked = [State(ids.RUN, "value"), State(ids.MODEL, "value")]
    app.callback(
        Output(EXPLAIN_PANELS, "figure"),
        Output(EXPLAIN_MAPS, "figure"),
        Output(EXPLAIN_INFO, "children", allow_duplicate=True),
        Output(EXPLAIN_MAPS_BOX, "style"),
        Input(EXPLAIN_SAMPLE, "value"),
        *picked,
        prevent_initial_call=True,
    )(
        lambda s, r, m: (
            callbacks.sample_with_maps_box(r, m, s) if s is not None else (no_update,) * 4
        )
    )
    app.callback(
        Output(EXPLAIN_CLUSTER_PANELS, "figure"),
        Input(EXPLAIN_CLUSTER, "value"),
        *picked,
    )(lambda c, r, m: callbacks.cluster(r, m, c) if c is not None else no_update)
    app.callback(
        Output(ROTATION_CURVES, "figure"),
        Output(ROTATION_DRIFT, "figure"),
        run,
        model,
        classes,
        tab,
    )(on_tab(NAME, callbacks.rotation, 2))


VIEW = View(NAME, "Explain", layout, ExplainView, register)
