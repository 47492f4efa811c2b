"""Explorer responsiveness with 70,000 points: callback p95 and first page ready.

The store: the default run (run `pathways run` first) scaled to 70,000 samples by tiling every
per-sample output (samples with images, activations, embedding with jitter, cluster
assignments, paths, novelty scores) — the same schema and files the pipeline writes, 47×
the rows. Callbacks are timed through Flask's test client (real request, callback and JSON
encoding), alternating layer switches and colourings; first page ready is timed in headless
Chromium from navigation until the embedding's WebGL canvas and legend are drawn.

Run: python tests/benchmarks/bench_explorer.py [--source data/store/default] [--points 70000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _common import REPO

PER_SAMPLE = {
    "data": ["samples"],
    "capture/mlp": ["activations"],
    "embedding/mlp": ["embedding"],
    "clusters/mlp": ["assignments"],
    "paths/mlp": ["sample_paths"],
    "novelty/mlp": ["scores"],
}


def _tile(table: pa.Table, n_samples: int, factor: int, rng: np.random.Generator) -> pa.Table:
    per_sample = table.num_rows // n_samples  # rows per sample (1, or one per layer)
    index = np.arange(table.num_rows)
    tiled = table.take(np.tile(index, factor))
    ids = tiled.column("sample_id").to_numpy()
    offset = np.repeat(np.arange(factor), table.num_rows) * n_samples
    tiled = tiled.set_column(
        tiled.schema.get_field_index("sample_id"), "sample_id", pa.array(ids + offset)
    )
    for name in ("x", "y"):
        if name in tiled.column_names:
            values = tiled.column(name).to_numpy() + rng.normal(0, 0.15, tiled.num_rows).astype(
                np.float32
            )
            tiled = tiled.set_column(tiled.schema.get_field_index(name), name, pa.array(values))
    if "sample_id" in tiled.column_names and per_sample > 1:
        order = np.lexsort((ids + offset,))
        tiled = tiled.take(order)
    return tiled


def build_store(source: Path, points: int) -> Path:
    store = Path(tempfile.mkdtemp()) / "store"
    shutil.copytree(source, store / "big", ignore=shutil.ignore_patterns("*@seed*"))
    n = pq.read_metadata(source / "data" / "samples.parquet").num_rows
    factor = -(-points // n)
    rng = np.random.default_rng(0)
    for step, names in PER_SAMPLE.items():
        for name in names:
            path = store / "big" / step / f"{name}.parquet"
            table = pq.read_table(path)
            big = _tile(table, n, factor, rng)
            keep = big.column("sample_id").to_numpy() < points
            pq.write_table(big.filter(pa.array(keep)), path, compression="zstd")
    return store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=REPO / "data" / "store" / "default")
    parser.add_argument("--points", type=int, default=70_000)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    if not (args.source / "embedding" / "mlp" / "manifest.json").is_file():
        raise SystemExit(f"{args.source}: run `pathways run` first (the default experiment)")
    store = build_store(args.source, args.points)
    from pathways.app import create_app

    start = time.perf_counter()
    app = create_app(store)
    client = app.server.test_client()
    client.get("/")
    layout = client.get("/_dash-layout")
    print(
        f"{args.points} points; app built and layout served in {time.perf_counter() - start:.2f} s"
    )

    def request(layer: str, colour: str):  # noqa: ANN202
        inputs = {
            "run": "big",
            "model": "mlp",
            "layer": layer,
            "classes": [1, 7, 3],
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
        return response

    def embedding(layer: str, colour: str) -> float:
        t0 = time.perf_counter()
        request(layer, colour)
        return time.perf_counter() - t0

    first = embedding("fc1", "class")  # cold: reads the store
    layers, colours = ["fc1", "fc2", "fc3"], ["class", "cluster", "seen/unseen", "correct/wrong"]
    switch = [embedding(layers[i % 3], "class") for i in range(args.repeats)]
    colour = [embedding("fc2", colours[i % 4]) for i in range(args.repeats)]
    size = len(request("fc1", "class").data)
    print(
        f"first embedding callback (reads the store): {1000 * first:.0f} ms; response {size / 1e6:.1f} MB"
    )
    for name, times in (("switch layer", switch), ("change colouring", colour)):
        print(
            f"{name:18} p50 {1000 * np.percentile(times, 50):6.0f} ms   p95 {1000 * np.percentile(times, 95):6.0f} ms   "
            f"({len(times)} calls; target p95 ≤ 150 ms)"
        )
    assert layout.status_code == 200

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        print("first page ready: skipped (no /usr/bin/chromium)")
        return
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    fresh = create_app(store)  # a new app: nothing cached, as after `pathways explore`
    httpd = make_server("127.0.0.1", 0, fresh.server, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    args_ = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    ready = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=args_)
        for _ in range(3):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"http://127.0.0.1:{httpd.server_port}/")
            page.wait_for_function(
                "document.querySelector('#embedding-graph .legend')?.textContent.includes('7') && "
                "document.querySelector('#embedding-graph canvas') !== null",
                timeout=60_000,
            )
            ready.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    httpd.shutdown()
    print(
        f"first page ready (navigation → 70k-point map drawn): first {ready[0]:.2f} s, "
        f"then {', '.join(f'{r:.2f}' for r in ready[1:])} s (target ≤ 2 s)"
    )
    print(
        f"reference, same browser: plain Plotly HTML page with the same 70k WebGL points: {plain_plotly(browser_args=args_):.2f} s"
    )


def plain_plotly(browser_args: list[str], points: int = 70_000) -> float:
    """Navigation → drawn for a Plotly-only HTML page (no Dash) with ``points`` WebGL markers in
    three traces: the floor that plotly.js parsing and WebGL drawing set in this browser."""
    import plotly.io as pio
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(0)
    third = points // 3
    figure = {
        "data": [
            {
                "type": "scattergl",
                "mode": "markers",
                "x": rng.normal(size=third).tolist(),
                "y": rng.normal(size=third).tolist(),
                "hoverinfo": "none",
            }
            for _ in range(3)
        ]
    }
    page_file = Path(tempfile.mkdtemp()) / "plain.html"
    pio.write_html(figure, str(page_file), include_plotlyjs=True, full_html=True, validate=False)
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=browser_args)
        for _ in range(3):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(page_file.as_uri())
            page.wait_for_selector(".legend")
            times.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    return float(np.median(times))


if __name__ == "__main__":
    main()
