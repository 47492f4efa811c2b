"""Figures: pure functions from DataFrames to Plotly figure dicts.

Figures are plain dicts (Plotly's JSON schema) rather than ``go.Figure`` objects: building a
``go.Figure`` validates every property in Python, which costs more than the whole callback on
tens of thousands of points. Numpy arrays are sent as they are (Dash encodes them compactly).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from pathways.analysis.stats import auroc

_DTYPES = {np.dtype(np.float32): "f4", np.dtype(np.float64): "f8", np.dtype(np.int32): "i4"}


def typed(values: np.ndarray) -> dict[str, str]:
    """A numpy array as Plotly's typed-array spec (base64 ``bdata``): 70,000 float32 coordinates
    travel as 370 kB instead of ~1.3 MB of JSON numbers, and need no per-number encoding."""
    values = np.ascontiguousarray(values)
    return {
        "dtype": _DTYPES[values.dtype],
        "bdata": base64.b64encode(values.tobytes()).decode("ascii"),
    }


def decode(value: Any) -> np.ndarray:
    """The array behind a figure property (a typed-array spec or a plain list)."""
    if isinstance(value, dict) and "bdata" in value:
        inverse = {v: k for k, v in _DTYPES.items()}
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=inverse[value["dtype"]])
    return np.asarray(value)


PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
COLOUR_BY = {
    "class": "label",
    "cluster": "cluster",
    "seen/unseen": "seen",
    "correct/wrong": "correct",
}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    axes = {
        "xaxis": {"zeroline": False, **extra.pop("xaxis", {})},
        "yaxis": {"zeroline": False, **extra.pop("yaxis", {})},
    }
    return {
        "title": {"text": title},
        "margin": {"l": 50, "r": 20, "t": 50, "b": 45},
        "template": "plotly_white",
        **axes,
        **extra,
    }


def message_figure(text: str) -> dict[str, Any]:
    """An empty figure that says why there is nothing to show."""
    return {
        "data": [],
        "layout": _layout(
            "",
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[{"text": text, "showarrow": False, "font": {"size": 15}}],
        ),
    }


def class_colour(cls: int, classes: list[int]) -> str:
    return PALETTE[classes.index(cls) % len(PALETTE)] if cls in classes else "#999999"


def _categories(frame: pd.DataFrame, colour_by: str) -> np.ndarray:
    """The colour category of each row, as a numpy array."""
    if colour_by == "seen/unseen":
        return np.where(frame["seen"].to_numpy(), "trained", "unseen")
    if colour_by == "correct/wrong":
        return np.where(
            frame["seen"].to_numpy(),
            np.where(frame["correct"].to_numpy(), "correct", "wrong"),
            "unseen",
        )
    return frame[COLOUR_BY[colour_by]].to_numpy()


def embedding_figure(
    frame: pd.DataFrame, colour_by: str, classes: list[int], layer: str
) -> dict[str, Any]:
    """WebGL scatter of a layer's 2-D map, one trace per colour category.

    ``frame``: sample_id, x, y, label, cluster, seen, correct, predicted_class, confidence.
    Only samples of ``classes`` are drawn. ``customdata`` carries the sample id. Built on numpy
    arrays (float32 coordinates, int32 ids) so that 70,000 points stay well under 150 ms.
    """
    keep = np.isin(frame["label"].to_numpy(), classes)
    if not keep.any():
        return message_figure("no samples of the chosen classes")
    x, y = frame["x"].to_numpy(np.float32)[keep], frame["y"].to_numpy(np.float32)[keep]
    sample_ids = frame["sample_id"].to_numpy(np.int32)[keep]
    categories = _categories(frame, colour_by)[keep]
    fixed = {"trained": "#1f77b4", "unseen": "#d62728", "correct": "#2ca02c", "wrong": "#d62728"}
    traces = []
    for i, value in enumerate(sorted(pd.unique(categories), key=str)):
        mask = categories == value
        if colour_by == "class":
            colour = class_colour(int(value), classes)
        else:
            colour = fixed.get(str(value), PALETTE[i % len(PALETTE)])
        traces.append(
            {
                "type": "scattergl",
                "mode": "markers",
                "name": f"cluster {value}" if colour_by == "cluster" else str(value),
                "x": typed(x[mask]),
                "y": typed(y[mask]),
                "customdata": typed(sample_ids[mask]),
                "marker": {"size": 5, "color": colour, "opacity": 0.75},
                "hoverinfo": "none",
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            f"{layer}: 2-D UMAP, coloured by {colour_by}",
            dragmode="lasso",
            legend={"itemsizing": "constant"},
            uirevision=layer,
        ),
    }


def signature_heatmap(
    signatures: pd.DataFrame,
    classes: list[int],
    sort_class: int | None,
    layer: str,
    max_units: int = 120,
) -> dict[str, Any]:
    """Units × classes heatmap of mean activation (scaled per unit to its maximum), sorted by
    the selectivity of ``sort_class`` (most selective first)."""
    part = signatures[signatures["class"].isin(classes)]
    if part.empty:
        return message_figure("no signatures for the chosen classes")
    means = part.pivot(index="unit", columns="class", values="mean")
    if sort_class in means.columns:
        order = part[part["class"] == sort_class].sort_values("selectivity", ascending=False)[
            "unit"
        ]
    else:
        order = pd.Series(list(dict.fromkeys(part["unit"])))
    means = means.loc[order.head(max_units)]
    peak = means.abs().max(axis=1).replace(0, 1.0)
    scaled = means.div(peak, axis=0)
    columns = [c for c in classes if c in scaled.columns]
    return {
        "data": [
            {
                "type": "heatmap",
                "z": scaled[columns].to_numpy().T,
                "x": [str(u) for u in scaled.index],
                "y": [f"class {c}" for c in columns],
                "customdata": means[columns].to_numpy().T,
                "colorscale": "Viridis",
                "hovertemplate": "unit %{x}<br>%{y}<br>mean %{customdata:.3f}<extra></extra>",
                "colorbar": {"title": {"text": "mean / unit max"}},
            }
        ],
        "layout": _layout(
            f"{layer}: class signatures ({len(scaled)} units{', sorted by selectivity for ' + str(sort_class) if sort_class in means.columns else ''})",
            xaxis={"title": {"text": "unit"}, "type": "category"},
        ),
    }


def top_units_figure(
    signatures: pd.DataFrame, cls: int, classes: list[int], top: int = 10
) -> dict[str, Any]:
    """The ``top`` most selective units of ``cls``, with every chosen class's mean on them."""
    mine = (
        signatures[signatures["class"] == cls].sort_values("selectivity", ascending=False).head(top)
    )
    if mine.empty:
        return message_figure(f"no signature for class {cls}")
    units = mine["unit"].tolist()
    traces = []
    for c in classes:
        part = signatures[(signatures["class"] == c)].set_index("unit").reindex(units)
        traces.append(
            {
                "type": "bar",
                "name": f"class {c}",
                "x": units,
                "y": part["mean"].to_numpy(),
                "marker": {"color": class_colour(c, classes)},
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            f"top units of class {cls} (by selectivity)",
            barmode="group",
            xaxis={"type": "category", "title": {"text": "unit"}},
            yaxis={"title": {"text": "mean activation"}},
        ),
    }


def differences_figure(
    differences: pd.DataFrame, pairs: list[tuple[int, int]], layer: str
) -> dict[str, Any]:
    """Per-unit Cohen's d for each pair, units in the order of the first pair's |d|; FDR-significant
    units filled, the others hollow."""
    if differences.empty or not pairs:
        return message_figure("choose at least two classes to compare")
    first = differences[(differences.class_a == pairs[0][0]) & (differences.class_b == pairs[0][1])]
    order = (
        first.assign(abs_d=first["cohen_d"].abs())
        .sort_values("abs_d", ascending=False)["unit"]
        .tolist()
    )
    rank = {u: i for i, u in enumerate(order)}
    traces = []
    for i, (a, b) in enumerate(pairs):
        part = differences[(differences.class_a == a) & (differences.class_b == b)]
        x = part["unit"].map(rank).to_numpy()
        for significant, symbol in ((True, "circle"), (False, "circle-open")):
            sel = part["significant"].to_numpy() == significant
            traces.append(
                {
                    "type": "scattergl",
                    "mode": "markers",
                    "name": f"{a} vs {b} ({'q < α' if significant else 'not significant'})",
                    "x": x[sel],
                    "y": part["cohen_d"].to_numpy()[sel],
                    "text": part["unit"].to_numpy()[sel],
                    "customdata": np.stack(
                        [part["auroc"].to_numpy()[sel], part["q_value"].to_numpy()[sel]], axis=1
                    ),
                    "marker": {"symbol": symbol, "color": PALETTE[i % len(PALETTE)], "size": 7},
                    "hovertemplate": "unit %{text}<br>d = %{y:.2f}<br>AUROC %{customdata[0]:.2f}<br>q %{customdata[1]:.2g}<extra>"
                    + f"{a} vs {b}</extra>",
                }
            )
    return {
        "data": traces,
        "layout": _layout(
            f"{layer}: per-unit differences (Cohen's d; filled = FDR-significant)",
            xaxis={"title": {"text": f"unit, ordered by |d| of {pairs[0][0]} vs {pairs[0][1]}"}},
            yaxis={"title": {"text": "Cohen's d"}},
        ),
    }


def divergence_figure(
    divergence: pd.DataFrame, chosen: pd.DataFrame, pair: tuple[int, int] | None
) -> dict[str, Any]:
    """Probe accuracy and cluster purity per layer for a trained pair, the divergence layer marked."""
    if pair is None:
        return message_figure("the divergence curve needs two trained classes")
    part = divergence[
        (divergence.class_a == pair[0]) & (divergence.class_b == pair[1])
    ].sort_values("depth")
    if part.empty:
        return message_figure(f"no divergence figures for {pair[0]} vs {pair[1]}")
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": part["layer"].tolist(),
            "y": part[column].to_numpy(),
        }
        for column, name in (
            ("probe_accuracy", "linear-probe accuracy"),
            ("cluster_purity", "cluster purity"),
            ("nmi", "NMI"),
            ("cka_logits", "CKA with logits"),
        )
    ]
    row = chosen[(chosen.class_a == pair[0]) & (chosen.class_b == pair[1])]
    shapes, annotations = [], []
    if len(row) and row["divergence_layer"].iloc[0] is not None:
        layer = row["divergence_layer"].iloc[0]
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": layer,
                "x1": layer,
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dash", "color": "#d62728"},
            }
        )
        annotations.append(
            {
                "x": layer,
                "y": 1.02,
                "yref": "paper",
                "text": f"divergence layer: {layer}",
                "showarrow": False,
                "font": {"color": "#d62728"},
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            f"where {pair[0]} and {pair[1]} part ways",
            shapes=shapes,
            annotations=annotations,
            yaxis={"range": [0, 1.05]},
        ),
    }


def sankey_figure(
    transitions: pd.DataFrame, classes: list[int], all_classes: list[int]
) -> dict[str, Any]:
    """Cluster-to-cluster flows across layers, one link colour per class."""
    part = transitions[transitions["class"].isin(classes)]
    if part.empty:
        return message_figure("no paths for the chosen classes")
    layers = list(dict.fromkeys(list(part["layer_from"]) + list(part["layer_to"])))
    nodes = sorted(
        {(lay, c) for lay, c in zip(part["layer_from"], part["cluster_from"], strict=True)}
        | {(lay, c) for lay, c in zip(part["layer_to"], part["cluster_to"], strict=True)},
        key=lambda n: (layers.index(n[0]), n[1]),
    )
    index = {n: i for i, n in enumerate(nodes)}
    colours = [class_colour(int(c), all_classes) for c in part["class"]]
    return {
        "data": [
            {
                "type": "sankey",
                "arrangement": "snap",
                "node": {
                    "label": [f"{lay}:{c}" for lay, c in nodes],
                    "pad": 12,
                    "thickness": 14,
                    "x": [
                        0.01 + 0.98 * layers.index(lay) / max(len(layers) - 1, 1)
                        for lay, _ in nodes
                    ],
                },
                "link": {
                    "source": [
                        index[(lay, c)]
                        for lay, c in zip(part["layer_from"], part["cluster_from"], strict=True)
                    ],
                    "target": [
                        index[(lay, c)]
                        for lay, c in zip(part["layer_to"], part["cluster_to"], strict=True)
                    ],
                    "value": part["n"].to_numpy(),
                    "color": [c + "99" for c in colours],
                    "customdata": [f"class {c}" for c in part["class"]],
                    "hovertemplate": "%{customdata}: %{value} samples<br>%{source.label} → %{target.label}<extra></extra>",
                },
            }
        ],
        "layout": _layout("paths: cluster-to-cluster flows per class (node = layer:cluster)"),
    }


def digit_figure(image: np.ndarray, title: str) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "heatmap",
                "z": image[::-1],
                "colorscale": "Greys",
                "reversescale": False,
                "showscale": False,
                "hoverinfo": "skip",
            }
        ],
        "layout": _layout(
            title,
            xaxis={"visible": False},
            yaxis={"visible": False, "scaleanchor": "x"},
            width=260,
            height=280,
        ),
    }


def sample_activation_figure(
    units: list[str],
    values: np.ndarray,
    signatures: pd.DataFrame,
    classes: list[int],
    layer: str,
    max_units: int = 64,
) -> dict[str, Any]:
    """One sample's activations at a layer against each class's mean (±1 std band as error bars)."""
    order = np.argsort(-np.abs(values))[:max_units]
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
    return {
        "data": traces,
        "layout": _layout(
            f"{layer}: this sample's strongest units vs the class signatures",
            xaxis={"type": "category", "title": {"text": "unit"}},
        ),
    }


def novelty_histogram(scores: pd.DataFrame, method: str, classes: list[int]) -> dict[str, Any]:
    part = scores[scores["label"].isin(classes) & (scores["split"].astype(str) == "test")]
    traces = [
        {
            "type": "histogram",
            "name": f"class {c}",
            "x": part.loc[part.label == c, method].to_numpy(),
            "opacity": 0.6,
            "marker": {"color": class_colour(c, classes)},
            "nbinsx": 40,
        }
        for c in classes
    ]
    return {
        "data": traces,
        "layout": _layout(
            f"novelty score '{method}' on test samples, per class",
            barmode="overlay",
            xaxis={"title": {"text": "score (higher = more unusual)"}},
        ),
    }


def roc_figure(
    scores: pd.DataFrame, methods: list[str], unseen_classes: list[int]
) -> dict[str, Any]:
    """ROC curves (unseen test vs trained test samples) of our score and the baselines; the
    first of ``methods`` (ours) is drawn thicker."""
    test = scores[scores["split"].astype(str) == "test"]
    test = test[test["seen"] | test["label"].isin(unseen_classes)]
    positive = ~test["seen"].to_numpy()
    if positive.sum() == 0 or (~positive).sum() == 0:
        return message_figure("ROC needs unseen and trained test samples")
    traces = []
    for i, method in enumerate(methods):
        fpr, tpr, _ = roc_curve(positive, test[method].to_numpy())
        width = 4 if i == 0 else 2
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"{method} (AUROC {auroc(test[method].to_numpy(), positive):.3f})",
                "x": fpr,
                "y": tpr,
                "line": {"width": width, "color": PALETTE[i % len(PALETTE)]},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "chance",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"dash": "dot", "color": "#aaa"},
        }
    )
    return {
        "data": traces,
        "layout": _layout(
            "ROC: unseen vs trained test samples",
            xaxis={"title": {"text": "false-positive rate"}},
            yaxis={"title": {"text": "true-positive rate"}},
        ),
    }
