"""Explorer responsiveness with 70,000 points: callback p95 and first page ready.

The store: a finished full-size run made by the pipeline itself (`pathways run
pipelines/fashion-full.toml`: 70,000 Fashion-MNIST images, every output written and recorded
by the runner), opened as it is. Callbacks are timed through Flask's test client (real
request, callback and JSON encoding), alternating layer switches and colourings, every class
shown; each response is checked to draw every sample (the points in its traces are counted).
First page ready is timed in headless Chromium from navigation until the embedding's WebGL
canvas and legend are drawn and the plotted points number every sample of the first map, for
the explorer as shipped (its own plotly.js bundle) and, alternating with it, for the same
explorer with Dash's full plotly.js. Anything else (an error page, a message figure, fewer
points) stops the benchmark with an error.

Run: python tests/benchmarks/bench_explorer.py [STORE/fashion-full]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from _common import REPO

sys.path.insert(0, str(REPO / "tests" / "app"))
from browsing import ARGS, CHROMIUM  # noqa: E402  the browser test's Chromium flags


def _points(figure: dict) -> int:
    """Points in a figure's traces (coordinates sent as plotly typed arrays or lists)."""
    from pathways.app.figures import decode

    return sum(len(decode(trace["x"])) for trace in figure.get("data", []) if "x" in trace)


def _value(node: object, wanted: str) -> object:
    """The ``value`` of the component with id ``wanted`` in a Dash layout (JSON)."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == wanted:
            return props.get("value")
        children: Iterable[object] = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _value(child, wanted)
        if found is not None:
            return found
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path, nargs="?", default=REPO / "data/store/fashion-full")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--loads", type=int, default=6, help="page loads per variant")
    args = parser.parse_args()
    if not (args.run / "embedding" / "mlp" / "manifest.json").is_file():
        raise SystemExit(f"{args.run}: run `pathways run pipelines/fashion-full.toml` first")
    run = args.run.name
    store = Path(tempfile.mkdtemp())  # the run alone (hard links), so the first page shows it
    shutil.copytree(args.run, store / run, copy_function=os.link)
    points = pq.read_metadata(args.run / "data" / "samples.parquet").num_rows
    if points < 50_000:
        raise SystemExit(f"{args.run}: {points} samples — this benchmark needs the full run")
    labels = (
        pq.read_table(args.run / "data" / "samples.parquet", columns=["label"])
        .column("label")
        .to_numpy()
    )
    classes = sorted(int(c) for c in np.unique(labels))
    from pathways.app import create_app

    start = time.perf_counter()
    app = create_app(store)
    client = app.server.test_client()
    client.get("/")
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200, layout.data[:300]
    served = _value(layout.get_json(), "classes")
    if not served:
        raise SystemExit(f"the first page shows no classes: {layout.data[:300]!r}")
    print(
        f"{points} points; app built and first page served (reads the store, draws the first "
        f"map) in {time.perf_counter() - start:.2f} s"
    )

    def request(layer: str, colour: str):  # noqa: ANN202
        inputs = {
            "run": run,
            "model": "mlp",
            "layer": layer,
            "classes": classes,
            "colour-by": colour,
            "tabs": "embedding",
        }
        payload = {
            "output": "embedding-graph.figure",
            "outputs": {"id": "embedding-graph", "property": "figure"},
            "inputs": [{"id": k, "property": "value", "value": v} for k, v in inputs.items()],
            "changedPropIds": ["layer.value"],
            "state": [],
        }
        response = client.post(
            "/_dash-update-component", data=json.dumps(payload), content_type="application/json"
        )
        assert response.status_code == 200, response.data[:300]
        figure = response.get_json()["response"]["embedding-graph"]["figure"]
        if _points(figure) != points:
            raise SystemExit(
                f"{layer}/{colour}: the map drew {_points(figure)} points, not {points} — "
                f"{json.dumps(figure.get('layout', {}).get('title'))[:200]}"
            )
        return response

    def embedding(layer: str, colour: str) -> float:
        t0 = time.perf_counter()
        request(layer, colour)
        return time.perf_counter() - t0

    first = embedding("fc1", "class")  # another layer than the served one
    layers, colours = ["fc1", "fc2", "fc3"], ["class", "cluster", "seen/unseen", "correct/wrong"]
    switch = [embedding(layers[i % 3], "class") for i in range(args.repeats)]
    colour = [embedding("fc2", colours[i % 4]) for i in range(args.repeats)]
    size = len(request("fc1", "class").data)
    print(f"first callback (another layer): {1000 * first:.0f} ms; response {size / 1e6:.1f} MB")
    for name, times in (("switch layer", switch), ("change colouring", colour)):
        print(
            f"{name:18} p50 {1000 * np.percentile(times, 50):6.0f} ms   p95 {1000 * np.percentile(times, 95):6.0f} ms   "
            f"({len(times)} calls; target p95 ≤ 150 ms)"
        )

    chromium = CHROMIUM
    if not chromium.exists():
        print("first page ready: skipped (no /usr/bin/chromium)")
        return
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    # Ours (the explorer's own plotly.js bundle, pathways/app/plotly_bundle) against the same
    # explorer drawn by Dash's default full plotly.js; fresh apps, nothing cached; loads
    # alternate so both see the same machine.
    servers = {}
    for name in ("ours", "full plotly.js"):
        app = create_app(store)
        if name != "ours":
            app.config.include_assets_files = False  # dcc.Graph then fetches Dash's plotly.min.js
        httpd = make_server("127.0.0.1", 0, app.server, threaded=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers[name] = httpd
    ready: dict[str, list[float]] = {name: [] for name in servers}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        for _ in range(args.loads):
            for name, httpd in servers.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{httpd.server_port}/")
                page.wait_for_function(
                    "document.querySelector('#embedding-graph .legend') !== null && "
                    "document.querySelector('#embedding-graph canvas') !== null",
                    timeout=60_000,
                )
                ready[name].append(time.perf_counter() - t0)
                drawn = page.evaluate(
                    "document.querySelector('#embedding-graph .js-plotly-plot')._fullData"
                    ".reduce((n, t) => n + (t.x && t.x.length ? t.x.length : 0), 0)"
                )
                first = int(np.isin(labels, served).sum())
                if drawn != first:
                    raise SystemExit(f"{name}: the first page drew {drawn} points, not {first}")
                page.close()
        browser.close()
    for httpd in servers.values():
        httpd.shutdown()
    for name, times in ready.items():
        print(
            f"first page ready, {name:15} (navigation → 70k-point map drawn): first load {times[0]:.2f} s "
            f"(reads the store), then median {np.median(times[1:]):.2f} s, max {max(times[1:]):.2f} s "
            f"over {len(times) - 1} loads (target ≤ 2 s)"
        )
    ratio = np.median(ready["full plotly.js"][1:]) / np.median(ready["ours"][1:])
    print(f"full plotly.js / ours: {ratio:.2f}×")


if __name__ == "__main__":
    main()
