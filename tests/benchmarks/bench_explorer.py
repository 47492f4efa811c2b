"""Explorer responsiveness with 70,000 points: callback p95 and first page ready.

The store: the default run (run `pathways run` first) scaled to 70,000 samples by tiling every
per-sample output (samples with images, activations, embedding with jitter, cluster
assignments, paths, novelty scores) — the same schema and files the pipeline writes, 47×
the rows. Callbacks are timed through Flask's test client (real request, callback and JSON
encoding), alternating layer switches and colourings; first page ready is timed in headless
Chromium from navigation until the embedding's WebGL canvas and legend are drawn, for the
explorer as shipped (its own plotly.js bundle) and, alternating with it, for the same explorer
with Dash's full plotly.js.

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
    parser.add_argument("--loads", type=int, default=6, help="page loads per variant")
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
        f"{args.points} points; app built and first page served (reads the store, draws the first map) in {time.perf_counter() - start:.2f} s"
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
    assert layout.status_code == 200

    chromium = Path("/usr/bin/chromium")
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
    args_ = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    ready: dict[str, list[float]] = {name: [] for name in servers}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=args_)
        for _ in range(args.loads):
            for name, httpd in servers.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{httpd.server_port}/")
                page.wait_for_function(
                    "document.querySelector('#embedding-graph .legend')?.textContent.includes('7') && "
                    "document.querySelector('#embedding-graph canvas') !== null",
                    timeout=60_000,
                )
                ready[name].append(time.perf_counter() - t0)
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
