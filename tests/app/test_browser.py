"""The real app in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Walks through every view — choosing class 3, another layer, a sample — asserting what appears
and that the browser console stays free of errors. Screenshots land in tests/app/screenshots/
(the README shows them).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import pathways.app
from pathways.app import create_app

ASSETS = Path(pathways.app.__file__).parent / "assets"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


def _serving(store: Path) -> Iterator[str]:
    app = create_app(store)
    httpd = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(small_store: Path) -> Iterator[str]:
    yield from _serving(small_store)


@pytest.fixture(scope="module")
def rgb_server(rgb_store: Path) -> Iterator[str]:
    yield from _serving(rgb_store)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _pick(page, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown}")
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")


def _title(page, graph: str) -> str:
    return page.text_content(f"#{graph} .gtitle") or ""


def test_every_view_in_a_real_browser(server: str, browser, small_store: Path):
    import pandas as pd

    samples = pd.read_parquet(
        small_store / "small" / "data" / "samples.parquet", columns=["sample_id", "label"]
    )
    a_three = int(samples.loc[samples.label == 3, "sample_id"].iloc[5])
    SHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server)

    # Embedding: default layer is the last hidden one; switch to another layer.
    page.wait_for_function(
        "document.querySelector('#embedding-graph .gtitle')?.textContent.includes('fc2')",
        timeout=30_000,
    )
    _pick(page, "layer", "fc1")
    page.wait_for_function(
        "document.querySelector('#embedding-graph .gtitle').textContent.startsWith('fc1')"
    )
    assert "coloured by class" in _title(page, "embedding-graph")
    legend = page.text_content("#embedding-graph .legend") or ""
    assert all(c in legend for c in ("1", "3", "7"))
    page.screenshot(path=str(SHOTS / "embedding.png"))

    # Classes: drop 7, keep 1 and the unseen 3.
    _pick(page, "classes", "7")
    page.wait_for_function(
        "!document.querySelector('#embedding-graph .legend').textContent.includes('7')"
    )
    assert "3" in (page.text_content("#embedding-graph .legend") or "")

    page.get_by_text("Signatures", exact=True).first.click()
    page.wait_for_function(
        "document.querySelector('#signature-heatmap .gtitle')?.textContent.includes('fc1')"
    )
    assert "class signatures" in _title(page, "signature-heatmap")
    page.screenshot(path=str(SHOTS / "signatures.png"), full_page=True)

    page.get_by_text("Compare", exact=True).first.click()
    page.wait_for_selector("#compare-summary li")
    assert "3 vs 1 at fc1" in page.inner_text("#compare-summary")
    page.wait_for_function(
        "document.querySelector('#divergence-curve .gtitle')?.textContent.length > 0"
    )
    page.screenshot(path=str(SHOTS / "compare.png"), full_page=True)

    page.get_by_text("Paths", exact=True).first.click()
    page.wait_for_selector("#paths-sankey .sankey")
    assert "node = layer:cluster" in _title(page, "paths-sankey")
    page.screenshot(path=str(SHOTS / "paths.png"), full_page=True)

    page.get_by_text("Sample", exact=True).first.click()
    page.fill("#sample-id", str(a_three))
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"document.querySelector('#sample-info')?.innerText.includes('sample {a_three} ')"
    )
    info = page.inner_text("#sample-info")
    assert "label 3" in info and "unseen class" in info and "predicted" in info
    assert page.locator("#sample-neighbours img").count() == 6
    page.screenshot(path=str(SHOTS / "sample.png"), full_page=True)

    page.get_by_text("Novelty", exact=True).first.click()
    page.wait_for_function(
        "document.querySelector('#novelty-roc .legend')?.textContent.includes('signature_knn_path')"
    )
    assert "AUROC" in (page.text_content("#novelty-roc .legend") or "")
    page.screenshot(path=str(SHOTS / "novelty.png"), full_page=True)

    # Explain (CNN): a sample of the unseen 3, a cluster's mean maps, the rotation study.
    _pick(page, "model", "lenet5")
    page.get_by_text("Explain", exact=True).first.click()
    page.wait_for_function(
        "document.querySelector('#explain-panels .gtitle')?.textContent.includes('why sample')",
        timeout=30_000,
    )
    page.click("#explain-sample")
    page.get_by_role("option").filter(has_text="(unseen)").first.click()
    page.wait_for_function(
        "document.querySelector('#explain-info')?.innerText.includes('unseen class')"
    )
    panel_titles = page.inner_text("#explain-panels")
    assert "occlusion" in panel_titles and "Grad-CAM at conv2" in panel_titles
    assert "DeconvNet: conv2 channel" in panel_titles and "(true)" not in panel_titles
    assert page.locator("#explain-panels .heatmaplayer .hm, #explain-panels image").count() >= 4
    maps = page.inner_text("#explain-maps")
    assert all(layer in maps for layer in ("conv1", "pool1", "conv2", "pool2", "conv3"))
    page.click("#explain-cluster")
    page.get_by_role("option").filter(has_text="conv2 · cluster").first.click()
    page.wait_for_function(
        "document.querySelector('#explain-cluster-panels .gtitle')?.textContent.includes('conv2 cluster')"
    )
    assert "mean Grad-CAM" in page.inner_text("#explain-cluster-panels")
    page.wait_for_function(
        "document.querySelector('#rotation-curves .legend')?.textContent.includes('accuracy')"
    )
    assert "class 3: angle" in page.inner_text("#rotation-drift")
    page.screenshot(path=str(SHOTS / "explain.png"), full_page=True)

    # Dynamics: the snapshots' heatmaps, the unseen class over epochs, the map at an epoch.
    page.get_by_text("Dynamics", exact=True).first.click()
    page.wait_for_function(
        "document.querySelector('#dynamics-cka .gtitle')?.textContent.includes('CKA')"
    )
    assert page.locator("#dynamics-heatmap .heatmaplayer, #dynamics-heatmap .hm").count() >= 1
    assert "closest to" in (page.text_content("#dynamics-affinity .legend") or "")
    # a click on the slider's "epoch 1" mark (the slider's track takes the pointer there)
    page.get_by_text("epoch 1", exact=True).first.click(force=True)
    page.wait_for_function(
        "document.querySelector('#dynamics-map .gtitle')?.textContent.includes('at epoch 1')"
    )
    page.screenshot(path=str(SHOTS / "dynamics.png"), full_page=True)

    assert console_errors == []
    # Every view was drawn by the explorer's own plotly.js bundle; the full one never loaded.
    bundle = json.loads((ASSETS / "plotly-pathways.json").read_text())
    assert page.evaluate("window.Plotly.version") == bundle["plotly.js"]
    assert any("/assets/plotly-pathways.min.js" in url for url in requested)
    assert not any("package_data/plotly" in url for url in requested)
    page.close()


def test_a_users_network_on_rgb_images_in_a_real_browser(rgb_server: str, browser):
    """The explorer on a user's residual network over an RGB image folder: class names in the
    pickers and legends, RGB images, explanations with a note where a method does not apply."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    console_errors: list[str] = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    page.goto(rgb_server)
    page.wait_for_function(
        "document.querySelector('#embedding-graph .gtitle')?.textContent.includes('head.3')",
        timeout=30_000,
    )
    legend = page.text_content("#embedding-graph .legend") or ""
    assert all(name in legend for name in ("red", "green", "blue", "gold")), legend
    _pick(page, "layer", "block.relu#1")
    page.wait_for_function(
        "document.querySelector('#embedding-graph .gtitle').textContent.startsWith('block.relu#1')"
    )
    page.screenshot(path=str(SHOTS / "embedding-rgb.png"))

    page.get_by_text("Sample", exact=True).first.click()
    page.fill("#sample-id", "3")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#sample-info')?.innerText.includes('sample 3 ')"
    )
    size = page.evaluate(
        "(() => { const i = document.querySelector('#sample-image');"
        " return [i.naturalWidth, i.naturalHeight]; })()"
    )
    assert size[0] >= 48 and size[0] == size[1]  # the 16×16 RGB image, scaled up

    page.get_by_text("Explain", exact=True).first.click()
    page.wait_for_function(
        "document.querySelector('#explain-panels .gtitle')?.textContent.includes('why sample')",
        timeout=30_000,
    )
    panels = page.inner_text("#explain-panels")
    assert "Integrated Gradients" in panels and "Grad-CAM at block.relu#1" in panels
    assert "DeconvNet not shown" in panels and "residual addition" in panels
    assert "DeconvNet: " not in panels  # no empty axes for a method that does not apply
    assert page.locator("#explain-panels .imagelayer image, #explain-panels image").count() >= 1
    page.screenshot(path=str(SHOTS / "explain-rgb.png"), full_page=True)
    assert console_errors == []
    page.close()


def test_incomplete_run_shows_a_message_in_the_page(small_store: Path, tmp_path: Path, browser):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    shutil.rmtree(store / "small" / "embedding" / "mlp")
    httpd = make_server("127.0.0.1", 0, create_app(store).server, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"http://127.0.0.1:{httpd.server_port}/")
        handle = page.wait_for_function(
            "(() => { const t = document.querySelector('#message')?.innerText || ''; return t.includes('incomplete') && t; })()",
            timeout=30_000,
        )
        message = handle.json_value()
        page.wait_for_timeout(1000)  # let any late callback land: the message must stay
        assert page.inner_text("#message") == message
        assert "no embedding output" in message and "pathways run" in message
        assert "Traceback" not in page.content() and errors == []
        page.close()
    finally:
        httpd.shutdown()
