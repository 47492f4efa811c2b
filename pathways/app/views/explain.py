"""The Explain view: one explained sample, one cluster's mean maps, the rotation study.

Maps exist for CNN models (``explain/M``); the rotation study exists for every model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from pathways.app import ids
from pathways.app.data import StoreReader
from pathways.app.figures import message_figure
from pathways.app.view import ROW, View, graph, on_tab, picker
from pathways.app.views import explain_figures as figs
from pathways.errors import StoreError

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


def layout(state: Mapping[str, Any]) -> list:
    """CNN interpretation: one explained sample, one cluster's mean maps, the rotation study."""
    pad = {"padding": "8px 16px"}
    sample = dcc.Dropdown(id=EXPLAIN_SAMPLE, clearable=False)
    cluster = dcc.Dropdown(id=EXPLAIN_CLUSTER, clearable=False)
    return [
        html.Div(
            [
                html.Div(picker("explained sample", sample), style={"width": "420px"}),
                html.Div(id=EXPLAIN_INFO, role="status", style={"paddingBottom": "8px"}),
            ],
            style={**ROW, **pad},
        ),
        graph(EXPLAIN_PANELS, 320),
        graph(EXPLAIN_MAPS, None),
        html.Div(
            picker("cluster (its members' mean maps)", cluster), style={**pad, "width": "520px"}
        ),
        graph(EXPLAIN_CLUSTER_PANELS, 320),
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
        except StoreError as exc:
            return [], None, [], None, str(exc)
        wanted = {int(c) for c in classes or []}
        examples = explained[explained["example"]]
        if wanted:
            examples = examples[examples["label"].isin(wanted)]
        samples = [
            {
                "label": f"sample {r.sample_id} · digit {r.label}"
                f"{'' if r.seen else ' (unseen)'} → {r.predicted_class} ({r.confidence:.2f})",
                "value": int(r.sample_id),
            }
            for r in examples.itertuples()
        ]
        cluster_options = [
            {
                "label": f"{r.layer} · cluster {r.cluster} · {r.size} samples · "
                f"mostly {r.majority_class} ({r.majority_share:.0%} of {r.n_used})",
                "value": int(r.index),
            }
            for r in clusters.itertuples()
        ]
        return (
            samples,
            samples[0]["value"] if samples else None,
            cluster_options,
            cluster_options[0]["value"] if cluster_options else None,
            "",
        )

    def sample(self, run: str, model: str, sample_id: Any) -> tuple:
        try:
            explained = self.reader.explained(run, model)
            settings = self.reader.explain_settings(run, model)
            matches = explained[explained["sample_id"] == sample_id]
            if sample_id is None or matches.empty:
                raise StoreError("pick an explained sample")
            row = matches.iloc[0]
            i = int(row["row"])
            array = lambda name: self.reader.explain_array(run, model, name)  # noqa: E731
            image, gradcam = array("images")[i], array("gradcam")[i]
            panels = [
                {"title": f"input ({image.shape[0]}×{image.shape[1]})", "z": image},
                {
                    "title": f"occlusion: drop in p({row['predicted_class']}) (predicted; red supports)",
                    "z": array("occlusion_predicted")[i],
                    "kind": "signed",
                },
            ]
            if row["seen"]:
                panels.append(
                    {
                        "title": f"occlusion: drop in p({row['label']}) (true)",
                        "z": array("occlusion_true")[i],
                        "kind": "signed",
                    }
                )
            panels.append(
                {
                    "title": f"Grad-CAM at {settings['layer']} for {row['predicted_class']}",
                    "z": image,
                    "overlay": gradcam,
                }
            )
            if settings["deconv"] == "relu":
                panels.append(
                    {
                        "title": f"DeconvNet: {settings['layer']} channel {row['deconv_channel']}"
                        f" at ({row['deconv_y']}, {row['deconv_x']})",
                        "z": array("deconv")[i],
                        "kind": "signed",
                    }
                )
            maps = {name: array(f"maps_{name}")[i] for name in settings["feature_map_layers"]}
        except StoreError as exc:
            return message_figure(str(exc)), message_figure(""), ""
        info = (
            f"sample {row['sample_id']}: digit {row['label']}"
            f"{' (trained class)' if row['seen'] else ' (unseen class)'}, predicted "
            f"{row['predicted_class']} with p = {row['confidence']:.3f}"
        )
        return (
            figs.image_panels(
                panels, f"why sample {row['sample_id']} is called {row['predicted_class']}"
            ),
            figs.feature_map_grid(maps, f"feature maps of sample {row['sample_id']}, per layer"),
            info,
        )

    def cluster(self, run: str, model: str, index: Any) -> Any:
        try:
            clusters = self.reader.explain_clusters(run, model)
            settings = self.reader.explain_settings(run, model)
            if index is None or int(index) not in set(clusters["index"]):
                raise StoreError("pick a cluster")
            row = clusters.set_index("index").loc[int(index)]
            i = int(index)
            array = lambda name: self.reader.explain_array(run, model, name)  # noqa: E731
            image = array("cluster_image")[i]
            panels = [
                {"title": f"mean of {row['n_used']} members", "z": image},
                {
                    "title": "mean occlusion, predicted class (red supports)",
                    "z": array("cluster_occlusion")[i],
                    "kind": "signed",
                },
                {
                    "title": f"mean Grad-CAM at {settings['layer']}",
                    "z": image,
                    "overlay": array("cluster_gradcam")[i],
                },
            ]
        except StoreError as exc:
            return message_figure(str(exc))
        counts = ", ".join(
            f"{c.removeprefix('count_')}: {int(row[c])}"
            for c in clusters.columns
            if c.startswith("count_") and row[c] > 0
        )
        return figs.image_panels(
            panels,
            f"what members of {row['layer']} cluster {row['cluster']} look at "
            f"(members used by class — {counts})",
        )

    def rotation(self, run: str, model: str, classes: list[int]) -> tuple:
        try:
            curves, drift, drift_layers = self.reader.rotation(run, model)
            trained, unseen = self.reader.classes(run)
        except StoreError as exc:
            return message_figure(str(exc)), message_figure("")
        chosen = [int(c) for c in classes or []] or trained + unseen
        return (
            figs.rotation_curves(curves, chosen, trained),
            figs.drift_heatmaps(drift, drift_layers, chosen),
        )


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
        Input(EXPLAIN_SAMPLE, "value"),
        *picked,
        prevent_initial_call=True,
    )(lambda s, r, m: callbacks.sample(r, m, s) if s is not None else (no_update,) * 3)
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
