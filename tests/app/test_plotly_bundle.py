"""The explorer's own plotly.js bundle holds every trace type its figures draw."""

from __future__ import annotations

import json
from pathlib import Path

from plotly.offline import get_plotlyjs_version

import pathways.app
from pathways.app.frame import Frame

ASSETS = Path(pathways.app.__file__).parent / "assets"


def _manifest() -> dict:
    return json.loads((ASSETS / "plotly-pathways.json").read_text())


def _trace_types(output) -> set[str]:  # noqa: ANN001 - a figure, or a tuple holding figures
    if isinstance(output, tuple | list):
        return set().union(*(_trace_types(item) for item in output)) if output else set()
    if isinstance(output, dict) and "data" in output and isinstance(output["data"], list):
        return {trace.get("type", "scatter") for trace in output["data"]}
    return set()


def test_every_trace_type_the_views_draw_is_in_the_bundle(frame: Frame, small_store: Path):
    import pandas as pd

    samples = pd.read_parquet(small_store / "small" / "data" / "samples.parquet")
    a_three = int(samples.loc[samples.label == 3, "sample_id"].iloc[0])
    drawn = set()
    for colour in ("class", "cluster", "seen/unseen", "correct/wrong"):
        drawn |= _trace_types(
            frame.views["embedding"].embedding("small", "mlp", "fc1", [1, 7, 3], colour)
        )
    drawn |= _trace_types(frame.views["signatures"].signatures("small", "mlp", "fc1", [1, 7, 3], 7))
    drawn |= _trace_types(frame.views["compare"].compare("small", "mlp", "fc1", [1, 7, 3]))
    drawn |= _trace_types(frame.views["paths"].paths("small", "mlp", [1, 7, 3]))
    drawn |= _trace_types(frame.views["sample"].sample("small", "mlp", "fc1", a_three, [1, 7, 3]))
    drawn |= _trace_types(
        frame.views["novelty"].novelty("small", "mlp", "signature_knn_path", 0.5, [1, 7, 3])
    )
    explain = frame.views["explain"]
    _, first, _, cluster, _ = explain.pickers("small", "lenet5", [1, 7, 3])
    drawn |= _trace_types(explain.sample("small", "lenet5", first))
    drawn |= _trace_types(explain.cluster("small", "lenet5", cluster))
    drawn |= _trace_types(explain.rotation("small", "lenet5", [1, 7, 3]))
    assert {"scattergl", "heatmap", "sankey", "histogram"} <= drawn  # the views were really drawn
    missing = drawn - set(_manifest()["traces"])
    assert not missing, f"rebuild pathways/app/plotly_bundle with these traces too: {missing}"


def test_bundle_is_the_plotly_js_version_dash_ships():
    manifest = _manifest()
    bundle = (ASSETS / "plotly-pathways.min.js").read_text()
    assert bundle.startswith(f"/* plotly.js {manifest['plotly.js']} ")
    assert manifest["plotly.js"] == get_plotlyjs_version(), (
        "the installed plotly ships another plotly.js: rebuild pathways/app/plotly_bundle"
    )
