"""Figures of the Explain view: image panels, feature-map grids, rotation curves and drift.

Pure functions from arrays and DataFrames to Plotly figure dicts, like :mod:`pathways.app.figures`.
Images are drawn as heatmaps with rows downwards and square pixels; a grey image is a light
digit on black (``GREY``), as the data stores it and as the Sample view and the hover show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pathways.app.figures import class_colour, figure_layout
from pathways.store.summaries import class_label

GREY = [[0, "#000000"], [1, "#ffffff"]]  # 0 = black: white digits on black, as stored
DIVERGING = "RdBu"  # Plotly's RdBu runs blue (low) → red (high)
HEAT = "Hot"


def _heatmap(z: np.ndarray, axis: int, colorscale: Any, **extra: Any) -> dict[str, Any]:
    suffix = "" if axis == 1 else str(axis)
    return {
        "type": "heatmap",
        "z": np.asarray(z, dtype=np.float64).round(5).tolist(),
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        "colorscale": colorscale,
        "showscale": False,
        "hovertemplate": "x %{x}, y %{y}: %{z:.3g}<extra></extra>",
        **extra,
    }


def _image_axes(n: int, gap: float = 0.03) -> dict[str, Any]:
    """``n`` side-by-side square image axes (rows downwards)."""
    width = (1 - gap * (n - 1)) / n
    axes: dict[str, Any] = {}
    for i in range(n):
        suffix = "" if i == 0 else str(i + 1)
        start = i * (width + gap)
        axes[f"xaxis{suffix}"] = {
            "domain": [start, start + width],
            "visible": False,
            "anchor": f"y{suffix}",
        }
        axes[f"yaxis{suffix}"] = {
            "autorange": "reversed",
            "visible": False,
            "scaleanchor": f"x{suffix}",
            "anchor": f"x{suffix}",
        }
    return axes


def _colour_image(z: np.ndarray, axis: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An RGB image (h × w × 3, values in [0, 1]) as a layout image (a PNG in the axes: the
    explorer's plotly bundle has no image trace) and a transparent heatmap that spans the
    axes and carries the hover values."""
    import base64
    import io

    from PIL import Image

    suffix = "" if axis == 1 else str(axis)
    pixels = np.clip(np.rint(np.nan_to_num(z) * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    h, w = pixels.shape[:2]
    picture = {
        "source": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
        "xref": f"x{suffix}",
        "yref": f"y{suffix}",
        "x": -0.5,
        "y": -0.5,
        "sizex": w,
        "sizey": h,
        "xanchor": "left",
        "yanchor": "top",
        "sizing": "stretch",
        "layer": "below",
    }
    grey = pixels.astype(np.float64).mean(-1)
    return picture, _heatmap(grey, axis, GREY, opacity=0.0)


NOTE_LINE = 20
"""Pixels per note line under the panels."""


def _panel_trace(panel: dict[str, Any], axis: int) -> tuple[list[dict[str, Any]], list]:
    """The traces of one panel (and its layout image, for an RGB picture)."""
    z = np.asarray(panel["z"], dtype=np.float64)
    pictures = []
    if z.ndim == 3:
        picture, span = _colour_image(z, axis)
        pictures.append(picture)
        data = [span]
    elif panel.get("kind") == "signed":
        bound = float(np.nanmax(np.abs(z))) or 1.0
        data = [_heatmap(z, axis, DIVERGING, zmin=-bound, zmax=bound)]  # red: positive
    elif panel.get("kind") == "heat":
        data = [_heatmap(z, axis, HEAT, reversescale=True)]
    else:
        data = [_heatmap(z, axis, GREY, zmin=0, zmax=max(float(np.nanmax(z)), 1e-9))]
    if panel.get("overlay") is not None:
        data.append(_heatmap(panel["overlay"], axis, "Jet", opacity=0.45))
    return data, pictures


def _panel_title(text: str, axis: int) -> dict[str, Any]:
    suffix = "" if axis == 1 else str(axis)
    return {
        "text": text,
        "xref": f"x{suffix} domain",
        "yref": f"y{suffix} domain",
        "x": 0.5,
        "y": 1.0,
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 12},
    }


def _note(text: str, line: int) -> dict[str, Any]:
    """A line under the panels, ``line`` lines down (placed in pixels: any height fits)."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0.0,
        "xanchor": "left",
        "y": 0.0,
        "yanchor": "top",
        "yshift": -6 - NOTE_LINE * line,
        "showarrow": False,
        "font": {"size": 12, "color": "#555"},
    }


def image_panels(
    panels: list[dict[str, Any]], title: str, height: int = 300, notes: list[str] | None = None
) -> dict[str, Any]:
    """Side-by-side images. Each panel: ``title`` (``<br>`` breaks a line), ``z`` (2-D grey,
    or h × w × 3 RGB in [0, 1]), ``kind`` ("image", "heat" — non-negative evidence — or
    "signed" — centred on 0), and optionally ``overlay`` (a 2-D map drawn half-transparent over
    ``z``). ``notes``: lines under the panels (why a method is not shown); the figure grows by
    one line each."""
    notes = notes or []
    data, annotations, pictures = [], [], []
    for i, panel in enumerate(panels, start=1):
        traces, picture = _panel_trace(panel, i)
        data += traces
        pictures += picture
        annotations.append(_panel_title(panel["title"], i))
    annotations += [_note(note, k) for k, note in enumerate(notes)]
    below = 10 + NOTE_LINE * len(notes) + (8 if notes else 0)
    layout = figure_layout(
        title,
        **_image_axes(len(panels)),
        annotations=annotations,
        images=pictures,
        height=height + below,
    )
    layout["margin"] = {"l": 10, "r": 10, "t": 84, "b": below}
    return {"data": data, "layout": layout}


def _mosaic(maps: np.ndarray, columns: int) -> np.ndarray:
    """channels × h × w → one image of the channels tiled ``columns`` per row, NaN between."""
    c, h, w = maps.shape
    rows = -(-c // columns)
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for k in range(c):
        r, q = divmod(k, columns)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = maps[k]
    return out


def feature_map_grid(
    maps: dict[str, np.ndarray], title: str, width: int = 1240, max_cell: float = 8.0
) -> dict[str, Any]:
    """Every channel of every layer, one band per layer (each layer scaled to its maximum).

    Bands are sized in pixels (at most ``max_cell`` per feature-map cell, fitting ``width``) and
    the figure's height is their sum, so the grid never overflows its graph.
    """
    bands = []
    for name, values in maps.items():
        c, h, w = values.shape
        columns = min(16 if h * w > 1 else 30, c)
        band = _mosaic(values / max(float(values.max()), 1e-9), columns)
        cell = min(max_cell, 0.9 * width / band.shape[1])
        bands.append((name, values.shape, band, band.shape[0] * cell + 24))
    top_margin, bottom_margin = 50, 10
    plot_height = sum(height for *_, height in bands)
    data, axes, annotations, top = [], {}, [], 1.0
    for i, (name, shape, band, height) in enumerate(bands, start=1):
        suffix = "" if i == 1 else str(i)
        share = height / plot_height
        lower = max(top - share, 0.0)
        data.append(_heatmap(band, i, "Viridis", zmin=0, zmax=1))
        axes[f"xaxis{suffix}"] = {"visible": False, "anchor": f"y{suffix}", "domain": [0.1, 1.0]}
        axes[f"yaxis{suffix}"] = {
            "domain": [lower + 12 / plot_height, top - 12 / plot_height],
            "autorange": "reversed",
            "visible": False,
            "scaleanchor": f"x{suffix}",
            "anchor": f"x{suffix}",
        }
        annotations.append(
            {
                "text": f"{name}<br>{shape[0]} × {shape[1]}×{shape[2]}",
                "xref": "paper",
                "yref": "paper",
                "x": 0.0,
                "y": (lower + top) / 2,
                "xanchor": "left",
                "showarrow": False,
                "font": {"size": 12},
            }
        )
        top = lower
    layout = figure_layout(
        title, **axes, annotations=annotations, height=int(plot_height + top_margin + bottom_margin)
    )
    layout["margin"] = {"l": 10, "r": 10, "t": top_margin, "b": bottom_margin}
    return {"data": data, "layout": layout}


def rotation_curves(
    curves: pd.DataFrame,
    classes: list[int],
    trained: list[int],
    names: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """Accuracy of each trained class, and the probability the network gives to the first
    trained class for every class, against the rotation angle."""
    data = []
    shown = [c for c in classes if c in set(curves["label"])]
    first = trained[0]
    for cls in shown:
        rows = curves[curves["label"] == cls].sort_values("angle")
        colour = class_colour(cls, classes)
        if cls in trained:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": rows["angle"].tolist(),
                    "y": rows["accuracy"].round(4).tolist(),
                    "name": f"{class_label(cls, names)}: accuracy",
                    "line": {"color": colour},
                }
            )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": rows["angle"].tolist(),
                "y": rows[f"prob_{first}"].round(4).tolist(),
                "name": f"{class_label(cls, names)}: mean p({class_label(first, names)})"
                + ("" if cls in trained else " (unseen)"),
                "line": {"color": colour, "dash": "dot"},
            }
        )
    return {
        "data": data,
        "layout": figure_layout(
            "rotation: accuracy and class probability against the angle",
            xaxis={"title": {"text": "rotation (degrees, counter-clockwise)"}, "dtick": 30},
            yaxis={"title": {"text": "accuracy / probability"}, "range": [-0.02, 1.02]},
            height=380,
        ),
    }


def _drift_traces(
    drift: pd.DataFrame, drift_layers: pd.DataFrame, cls: int, layers: list[str], i: int, n: int
) -> list[dict[str, Any]]:
    """Class ``cls``'s layer × angle heatmap (the ``i``-th of ``n``) and its drift-layer marks."""
    suffix = "" if i == 1 else str(i)
    table = drift[drift["label"] == cls].pivot(
        index="layer", columns="angle", values="share_outside"
    )
    table = table.loc[layers]
    heatmap = {
        "type": "heatmap",
        "z": table.to_numpy().round(3).tolist(),
        "x": [float(a) for a in table.columns],
        "y": layers,
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        "zmin": 0,
        "zmax": 1,
        "colorscale": "Blues",
        "reversescale": True,  # Plotly's Blues runs dark → light; dark = drifted
        "showscale": i == n,
        "colorbar": {"title": {"text": "share outside"}},
        "hovertemplate": "%{y} at %{x}°: %{z:.0%} outside<extra></extra>",
    }
    marks = drift_layers[(drift_layers["label"] == cls) & drift_layers["drift_layer"].notna()]
    crosses = {
        "type": "scatter",
        "mode": "markers",
        "x": marks["angle"].tolist(),
        "y": marks["drift_layer"].tolist(),
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        "marker": {"symbol": "x", "color": "#d62728", "size": 9},
        "name": "drift layer",
        "showlegend": i == 1,
    }
    return [heatmap, crosses]


def drift_heatmaps(
    drift: pd.DataFrame,
    drift_layers: pd.DataFrame,
    classes: list[int],
    names: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """Per class: share of rotated samples outside their unrotated signature, layer × angle,
    with the drift layer (first layer past the threshold) marked at each angle."""
    shown = [c for c in classes if c in set(drift["label"])]
    layers = list(dict.fromkeys(drift.sort_values("layer_index")["layer"]))
    n = len(shown)
    gap = 0.04
    width = (1 - gap * (n - 1)) / max(n, 1)
    data, axes = [], {}
    for i, cls in enumerate(shown, start=1):
        suffix = "" if i == 1 else str(i)
        data += _drift_traces(drift, drift_layers, cls, layers, i, n)
        start = (i - 1) * (width + gap)
        axes[f"xaxis{suffix}"] = {
            "domain": [start, start + width],
            "anchor": f"y{suffix}",
            "title": {"text": f"{class_label(cls, names)}: angle"},
            "dtick": 45,
        }
        axes[f"yaxis{suffix}"] = {
            "anchor": f"x{suffix}",
            "autorange": "reversed",
            "categoryorder": "array",
            "categoryarray": layers,
            "showticklabels": i == 1,
        }
    layout = figure_layout(
        "rotation: from which layer a rotated digit leaves its class's signature",
        **axes,
        annotations=[],
        height=360,
        legend={"orientation": "h", "y": -0.25},
    )
    return {"data": data, "layout": layout}
