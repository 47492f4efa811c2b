"""Callbacks: short functions that call the data access and the figure functions.

Each is a plain function registered with ``app.callback`` in :func:`register`, so tests call
them directly. A missing or incomplete run becomes a message in the page, never a traceback.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from dash import Dash, Input, Output, State, html, no_update

from pathways.app import figures, ids
from pathways.app.data import StoreReader
from pathways.errors import StoreError


class Callbacks:
    """The explorer's callbacks over one store."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader

    # -- pickers -----------------------------------------------------------------------------
    def models(self, run: str | None) -> tuple[list[str], str | None, str]:
        if not run:
            return [], None, f"no runs in {self.reader.store} — run `pathways run` first"
        try:
            models = self.reader.models(run)
        except StoreError as exc:
            return [], None, str(exc)
        return models, models[0], ""

    def model_options(self, run: str | None, model: str | None) -> tuple:
        if not run or not model:
            return [], None, [], [], [], None, [], None, no_update
        try:
            self.reader.check_model(run, model)
            layers = self.reader.layers(run, model)
            trained, unseen = self.reader.classes(run)
            _, metrics = self.reader.novelty(run, model)
        except StoreError as exc:
            return [], None, [], [], [], None, [], None, str(exc)
        classes = trained + unseen
        hidden = [layer for layer in layers if layer != "logit"]
        methods = metrics.loc[metrics["kind"] != "oracle", "method"].tolist()
        return (
            layers,
            hidden[-1] if hidden else layers[-1],
            classes,
            classes,
            classes,
            trained[0] if trained else None,
            methods,
            _ours(metrics),
            "",
        )

    def initial(self, runs: list[str]) -> dict[str, Any]:
        """The pickers' first options and values for the first run (see ``build_layout``)."""
        if not runs:
            return {"message": f"no runs in {self.reader.store} — run `pathways run` first"}
        models, model, message = self.models(runs[0])
        if not model:
            return {"models": models, "message": message}
        (
            layers,
            layer,
            class_options,
            classes,
            sort_options,
            sort_class,
            methods,
            method,
            message,
        ) = self.model_options(runs[0], model)
        return {
            "models": models,
            "model": model,
            "layers": layers,
            "layer": layer,
            "class_options": class_options,
            "classes": classes,
            "sort_options": sort_options,
            "sort_class": sort_class,
            "methods": methods,
            "method": method,
            "message": message,
            "embedding": self.embedding(runs[0], model, layer, classes, "class"),
        }

    # -- embedding ---------------------------------------------------------------------------
    def embedding(
        self, run: str, model: str, layer: str, classes: list[int], colour_by: str
    ) -> dict[str, Any]:
        if not (run and model and layer):
            return figures.message_figure("choose a run, a model and a layer")
        try:
            frame = self.reader.embedding(run, model, layer)
        except (StoreError, KeyError) as exc:
            return figures.message_figure(str(exc))
        return figures.embedding_figure(
            frame, colour_by or "class", [int(c) for c in classes or []], layer
        )

    def hover(self, hover: dict | None, run: str, model: str) -> tuple:
        if not hover or not hover.get("points"):
            return False, no_update, no_update
        point = hover["points"][0]
        sample = int(point["customdata"])
        row = self.reader.samples(run, model).set_index("sample_id").loc[sample]
        children = html.Div(
            [
                html.Img(
                    src=self.reader.image_uri(run, sample),
                    style={"width": "84px", "imageRendering": "pixelated"},
                ),
                html.P(
                    f"#{sample}: label {row['label']}, predicted {row['predicted_class']} ({row['confidence']:.2f})",
                    style={"margin": "2px 0", "fontSize": "12px"},
                ),
            ]
        )
        return True, point["bbox"], children

    def selection(self, selected: dict | None, run: str, model: str) -> Any:
        if not selected or not selected.get("points"):
            return html.P("nothing selected")
        chosen = [int(p["customdata"]) for p in selected["points"] if "customdata" in p]
        samples = self.reader.samples(run, model).set_index("sample_id").loc[chosen]
        counts = samples.groupby("label").size()
        summary = f"{len(chosen)} samples — " + ", ".join(
            f"{n} × {label}" for label, n in counts.items()
        )
        rows = [
            html.Tr([html.Th(h) for h in ("sample", "label", "split", "predicted", "confidence")])
        ]
        for sid, row in samples.head(50).iterrows():
            rows.append(
                html.Tr(
                    [
                        html.Td(sid),
                        html.Td(row["label"]),
                        html.Td(row["split"]),
                        html.Td(row["predicted_class"]),
                        html.Td(f"{row['confidence']:.2f}"),
                    ]
                )
            )
        return html.Div([html.P(summary), html.Table(rows, style={"fontSize": "12px"})])

    def clicked_sample(self, click: dict | None) -> Any:
        if not click or not click.get("points"):
            return no_update
        return int(click["points"][0]["customdata"])

    # -- signatures and compare ---------------------------------------------------------------
    def signatures(
        self, run: str, model: str, layer: str, classes: list[int], sort_class: int | None
    ) -> tuple:
        try:
            sig = self.reader.signatures(run, model)
        except StoreError as exc:
            return figures.message_figure(str(exc)), figures.message_figure("")
        sig = sig[sig["layer"] == layer]
        classes = [int(c) for c in classes or []]
        top_class = sort_class if sort_class in classes else (classes[0] if classes else None)
        top = (
            figures.top_units_figure(sig, top_class, classes)
            if top_class is not None
            else figures.message_figure("choose a class")
        )
        return figures.signature_heatmap(sig, classes, sort_class, layer), top

    def compare(self, run: str, model: str, layer: str, classes: list[int]) -> tuple:
        try:
            differences = self.reader.differences(run, model)
            divergence, chosen = self.reader.divergence(run, model)
            trained, _ = self.reader.classes(run)
        except StoreError as exc:
            return figures.message_figure(str(exc)), figures.message_figure(""), str(exc)
        classes = [int(c) for c in classes or []][:3]
        stored = {
            (int(a), int(b)) for a, b in zip(differences.class_a, differences.class_b, strict=True)
        }
        pairs = [
            p if p in stored else (p[1], p[0])
            for p in combinations(sorted(classes), 2)
            if p in stored or (p[1], p[0]) in stored
        ]
        layer_diff = differences[differences["layer"] == layer]
        # the divergence curve is about trained classes: the chosen ones, else the run's first two
        trained_pair = next(((a, b) for a, b in pairs if a in trained and b in trained), None)
        if trained_pair is None and len(trained) >= 2:
            trained_pair = (trained[0], trained[1])
        summary = []
        for a, b in pairs:
            part = layer_diff[(layer_diff.class_a == a) & (layer_diff.class_b == b)]
            if len(part):
                summary.append(
                    html.Li(
                        f"{a} vs {b} at {layer}: {int(part['significant'].sum())} of {len(part)} units differ (FDR 5 %), median |d| {part['cohen_d'].abs().median():.2f}"
                    )
                )
        note = html.Ul(summary) if summary else html.P("choose two or three classes")
        return (
            figures.differences_figure(layer_diff, pairs, layer),
            figures.divergence_figure(divergence, chosen, trained_pair),
            note,
        )

    # -- paths --------------------------------------------------------------------------------
    def paths(self, run: str, model: str, classes: list[int]) -> tuple:
        try:
            transitions = self.reader.transitions(run, model)
            distribution = self.reader.path_distribution(run, model)
            trained, unseen = self.reader.classes(run)
        except StoreError as exc:
            return figures.message_figure(str(exc)), str(exc)
        classes = [int(c) for c in classes or []]
        top = distribution[distribution["class"].isin(classes) & (distribution["rank"] <= 3)]
        rows = [html.Tr([html.Th(h) for h in ("class", "rank", "path", "samples", "share")])]
        rows += [
            html.Tr(
                [
                    html.Td(r["class"]),
                    html.Td(r["rank"]),
                    html.Td(r["path"]),
                    html.Td(r["n"]),
                    html.Td(f"{100 * r['share']:.0f} %"),
                ]
            )
            for _, r in top.iterrows()
        ]
        return figures.sankey_figure(transitions, classes, trained + unseen), html.Table(
            rows, style={"fontSize": "13px"}
        )

    # -- one sample ---------------------------------------------------------------------------
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
            return "", html.P(str(exc)), figures.message_figure(str(exc)), []
        info = html.Ul(
            [
                html.Li(
                    f"sample {sid} (source index {row['source_index']}), label {row['label']} — {'trained class' if row['seen'] else 'unseen class'}, {row['split']} split"
                ),
                html.Li(
                    f"predicted {row['predicted_class']} with confidence {row['confidence']:.3f}"
                ),
                html.Li(f"path {path}"),
            ]
        )
        layer_sig = signatures[signatures["layer"] == layer]
        classes = [int(c) for c in classes or []]
        figure = figures.sample_activation_figure(units, values[sid], layer_sig, classes, layer)
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

    # -- novelty ------------------------------------------------------------------------------
    def novelty(self, run: str, model: str, method: str, classes: list[int]) -> tuple:
        try:
            scores, metrics = self.reader.novelty(run, model)
            _, unseen = self.reader.classes(run)
        except StoreError as exc:
            return figures.message_figure(str(exc)), figures.message_figure("")
        classes = [int(c) for c in classes or []]
        methods = metrics.loc[metrics["kind"] != "oracle", "method"].tolist()  # every score
        method = method if method in scores.columns else _ours(metrics)
        return figures.novelty_histogram(scores, method, classes), figures.roc_figure(
            scores, methods, [c for c in unseen if c in classes] or unseen
        )


def _on_tab(tab: str, function: Any, n_outputs: int) -> Any:
    """Run ``function`` only while its tab is shown: hidden views cost nothing (the page's first
    load then computes the embedding alone); switching to a tab fires its callback."""

    def wrapper(*args: Any) -> Any:
        *values, active = args
        if active != tab:
            return no_update if n_outputs == 1 else (no_update,) * n_outputs
        return function(*values)

    return wrapper


def register(app: Dash, callbacks: Callbacks) -> None:
    """Wire the callbacks to the page's components.

    None fires when the page loads (the app is built with ``prevent_initial_callbacks``): the
    page is served with its pickers and first map filled in (:meth:`Callbacks.initial`), and a
    hidden view computes when its tab is opened.
    """
    tab = Input(ids.TABS, "value")
    app.callback(
        Output(ids.MODEL, "options"),
        Output(ids.MODEL, "value"),
        Output(ids.MESSAGE, "children", allow_duplicate=True),
        Input(ids.RUN, "value"),
    )(callbacks.models)
    app.callback(
        Output(ids.LAYER, "options"),
        Output(ids.LAYER, "value"),
        Output(ids.CLASSES, "options"),
        Output(ids.CLASSES, "value"),
        Output(ids.SIGNATURE_SORT, "options"),
        Output(ids.SIGNATURE_SORT, "value"),
        Output(ids.NOVELTY_METHOD, "options"),
        Output(ids.NOVELTY_METHOD, "value"),
        Output(ids.MESSAGE, "children"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
    )(callbacks.model_options)
    picked = [State(ids.RUN, "value"), State(ids.MODEL, "value")]
    view = [
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.LAYER, "value"),
        Input(ids.CLASSES, "value"),
    ]
    app.callback(
        Output(ids.EMBEDDING, "figure"),
        *view,
        Input(ids.COLOUR, "value"),
        tab,
    )(_on_tab("embedding", callbacks.embedding, 1))
    app.callback(
        Output(ids.TOOLTIP, "show"),
        Output(ids.TOOLTIP, "bbox"),
        Output(ids.TOOLTIP, "children"),
        Input(ids.EMBEDDING, "hoverData"),
        *picked,
    )(callbacks.hover)
    app.callback(Output(ids.SELECTION, "children"), Input(ids.EMBEDDING, "selectedData"), *picked)(
        callbacks.selection
    )
    app.callback(Output(ids.SAMPLE_ID, "value"), Input(ids.EMBEDDING, "clickData"))(
        callbacks.clicked_sample
    )
    app.callback(
        Output(ids.SIGNATURE_HEATMAP, "figure"),
        Output(ids.TOP_UNITS, "figure"),
        *view,
        Input(ids.SIGNATURE_SORT, "value"),
        tab,
    )(_on_tab("signatures", callbacks.signatures, 2))
    app.callback(
        Output(ids.COMPARE_DIFFERENCES, "figure"),
        Output(ids.DIVERGENCE_CURVE, "figure"),
        Output(ids.COMPARE_SUMMARY, "children"),
        *view,
        tab,
    )(_on_tab("compare", callbacks.compare, 3))
    app.callback(
        Output(ids.SANKEY, "figure"),
        Output(ids.PATHS_TABLE, "children"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.CLASSES, "value"),
        tab,
    )(_on_tab("paths", callbacks.paths, 2))
    app.callback(
        Output(ids.SAMPLE_IMAGE, "src"),
        Output(ids.SAMPLE_INFO, "children"),
        Output(ids.SAMPLE_ACTIVATIONS, "figure"),
        Output(ids.SAMPLE_NEIGHBOURS, "children"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.LAYER, "value"),
        Input(ids.SAMPLE_ID, "value"),
        Input(ids.CLASSES, "value"),
        tab,
    )(_on_tab("sample", callbacks.sample, 4))
    app.callback(
        Output(ids.NOVELTY_HISTOGRAM, "figure"),
        Output(ids.NOVELTY_ROC, "figure"),
        Input(ids.RUN, "value"),
        Input(ids.MODEL, "value"),
        Input(ids.NOVELTY_METHOD, "value"),
        Input(ids.CLASSES, "value"),
        tab,
    )(_on_tab("novelty", callbacks.novelty, 2))


def _ours(metrics: Any) -> str:
    """The method of kind ``ours`` in a novelty step's metrics (the default to show)."""
    return str(metrics.loc[metrics["kind"] == "ours", "method"].iloc[0])
