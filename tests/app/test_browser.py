"""The real app in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Walks through every view — choosing class 3, another layer, a sample — asserting what appears
and that the browser console stays free of errors. Screenshots land in a temporary folder (look
at them with ``--basetemp``); the README's gallery is made by ``tests/tools/gallery.py``.
Serving and the browser are shared with that tool (``browsing.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsing import CHROMIUM, WINDOW, chromium, open_tab, pick, serving, title, wait_for_title

import pathways.app

ASSETS = Path(pathways.app.__file__).parent / "assets"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def server(small_store: Path) -> Iterator[str]:
    with serving(small_store) as address:
        yield address


@pytest.fixture(scope="module")
def rgb_server(rgb_store: Path) -> Iterator[str]:
    with serving(rgb_store) as address:
        yield address


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _errors(page) -> list[str]:
    """The page's console errors and uncaught exceptions, as they come."""
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_every_view_in_a_real_browser(server: str, browser, small_store: Path, shots: Path):
    import pandas as pd

    samples = pd.read_parquet(
        small_store / "small" / "data" / "samples.parquet", columns=["sample_id", "label"]
    )
    a_three = int(samples.loc[samples.label == 3, "sample_id"].iloc[5])
    page = browser.new_page(viewport=WINDOW)
    console_errors = _errors(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server)
    _embedding(page, shots)
    _signatures_compare_paths(page, shots)
    _sample_and_novelty(page, shots, a_three)
    _interventions(page, shots)
    _explain_a_cnn(page, shots)
    _dynamics(page, shots)
    assert console_errors == []
    # Every view was drawn by the explorer's own plotly.js bundle; the full one never loaded.
    bundle = json.loads((ASSETS / "plotly-pathways.json").read_text())
    assert page.evaluate("window.Plotly.version") == bundle["plotly.js"]
    assert any("/assets/plotly-pathways.min.js" in url for url in requested)
    assert not any("package_data/plotly" in url for url in requested)
    page.close()


def _embedding(page, shots: Path) -> None:
    """The default layer is the last hidden one; switch to another layer, colour by cluster,
    then drop class 7 (keeping 1 and the unseen 3)."""
    wait_for_title(page, "embedding-graph", "fc2")
    pick(page, "layer", "fc1")
    page.wait_for_function(
        "document.querySelector('#embedding-graph .gtitle').textContent.startsWith('fc1')"
    )
    assert "coloured by class" in title(page, "embedding-graph")
    legend = page.text_content("#embedding-graph .legend") or ""
    assert all(c in legend for c in ("1", "3", "7"))
    page.screenshot(path=str(shots / "embedding.png"))
    # by cluster, the clustering's outliers have a legend entry (and colour) of their own
    page.get_by_text("cluster", exact=True).first.click()
    wait_for_title(page, "embedding-graph", "coloured by cluster")
    assert "outlier" in (page.text_content("#embedding-graph .legend") or "")
    page.screenshot(path=str(shots / "embedding-clusters.png"))
    page.get_by_text("class", exact=True).first.click()
    wait_for_title(page, "embedding-graph", "coloured by class")
    pick(page, "classes", "7")
    page.wait_for_function(
        "!document.querySelector('#embedding-graph .legend').textContent.includes('7')"
    )
    assert "3" in (page.text_content("#embedding-graph .legend") or "")


def _signatures_compare_paths(page, shots: Path) -> None:
    open_tab(page, "Signatures")
    wait_for_title(page, "signature-heatmap", "fc1")
    assert "class signatures" in title(page, "signature-heatmap")
    assert "units of fc1 never vary (dead" in page.inner_text("#signature-dead-units")
    page.screenshot(path=str(shots / "signatures.png"), full_page=True)
    # the ablation panel: the sort class's most selective units are chosen; the network runs
    # in the explorer's worker process
    page.click("#ablate-run")
    page.wait_for_selector("#ablate-sample-line", timeout=120_000)
    result = page.inner_text("#ablate-result")
    assert "5 of 32 units of fc1 set to the trained classes’ mean" in result
    assert "accuracy class 1" in result and "called class 7" in result and "→" in result

    open_tab(page, "Compare")
    page.wait_for_selector("#compare-summary li")
    assert "3 vs 1 at fc1" in page.inner_text("#compare-summary")
    page.wait_for_function(
        "document.querySelector('#divergence-curve .gtitle')?.textContent.length > 0"
    )
    page.screenshot(path=str(shots / "compare.png"), full_page=True)

    open_tab(page, "Paths")
    page.wait_for_selector("#paths-sankey .sankey")
    assert "node = layer:cluster" in title(page, "paths-sankey")
    padding = page.evaluate(
        "[...document.querySelectorAll('#paths-table td')].map(td => "
        "parseFloat(getComputedStyle(td).paddingLeft) + parseFloat(getComputedStyle(td).paddingRight))"
    )
    assert padding and min(padding) >= 20  # columns apart, not run together
    page.screenshot(path=str(shots / "paths.png"), full_page=True)


def _sample_and_novelty(page, shots: Path, a_three: int) -> None:
    open_tab(page, "Sample")
    page.fill("#sample-id", str(a_three))
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"document.querySelector('#sample-info')?.innerText.includes('sample {a_three} ')"
    )
    info = page.inner_text("#sample-info")
    assert "label 3" in info and "unseen class" in info and "predicted" in info
    assert "conformal p =" in info and "why: " in info and " σ" in info  # its reason
    assert page.locator("#sample-neighbours img").count() == 6
    page.screenshot(path=str(shots / "sample.png"), full_page=True)

    open_tab(page, "Novelty")
    page.wait_for_function(
        "document.querySelector('#novelty-roc .legend')?.textContent.includes('signature_knn_path')"
    )
    assert "AUROC" in (page.text_content("#novelty-roc .legend") or "")
    wait_for_title(page, "novelty-flags", "false discovery rate of 10 %")
    page.locator("#novelty-fdr [role=slider]").first.focus()
    page.keyboard.press("End")  # the slider's highest target, 50 %
    wait_for_title(page, "novelty-flags", "false discovery rate of 50 %")  # flags at the new rate
    assert page.locator("#novelty-histogram .shapelayer path").count() >= 1  # the threshold
    page.screenshot(path=str(shots / "novelty.png"), full_page=True)


def _interventions(page, shots: Path) -> None:
    """Ablation curves at the chosen layer, patching per layer, moves of the unseen 3."""
    open_tab(page, "Interventions")
    wait_for_title(page, "interventions-ablation", "fc1: class 1's accuracy")
    legend = page.text_content("#interventions-ablation .legend") or ""
    assert "signature units" in legend and "random units" in legend
    wait_for_title(page, "interventions-patching", "class 1 ↔ class 7")
    wait_for_title(page, "interventions-routes", "class 3:")
    assert "Which neurons" in page.inner_text("#interventions-verdicts")
    page.get_by_text("logit margin", exact=True).first.click()
    wait_for_title(page, "interventions-ablation", "margin")
    page.screenshot(path=str(shots / "interventions.png"), full_page=True)


def _explain_a_cnn(page, shots: Path) -> None:
    """A trained digit's six panels, a sample of the unseen 3, a cluster's mean maps, the
    rotation study."""
    pick(page, "model", "lenet5")
    open_tab(page, "Explain")
    wait_for_title(page, "explain-panels", "why sample")
    # a trained digit has six panels; their titles stay apart
    page.wait_for_function("document.querySelectorAll('#explain-panels .annotation').length == 6")
    boxes = sorted(page.evaluate(ANNOTATION_BOXES, "#explain-panels"))
    assert all(left[1] < right[0] for left, right in zip(boxes, boxes[1:], strict=False)), boxes
    page.click("#explain-sample")
    page.get_by_role("option").filter(has_text="(unseen)").first.click()
    page.wait_for_function(
        "document.querySelector('#explain-info')?.innerText.includes('unseen class')"
    )
    panel_titles = page.inner_text("#explain-panels")
    assert "occlusion" in panel_titles and "Grad-CAM at conv2" in panel_titles
    assert "DeconvNet: conv2 channel" in panel_titles and "(true" not in panel_titles
    assert page.locator("#explain-panels .heatmaplayer .hm, #explain-panels image").count() >= 4
    maps = page.inner_text("#explain-maps")
    assert all(layer in maps for layer in ("conv1", "pool1", "conv2", "pool2", "conv3"))
    page.click("#explain-cluster")
    page.get_by_role("option").filter(has_text="conv2 · cluster").first.click()
    wait_for_title(page, "explain-cluster-panels", "conv2 cluster")
    assert "mean Grad-CAM" in page.inner_text("#explain-cluster-panels")
    page.wait_for_function(
        "document.querySelector('#rotation-curves .legend')?.textContent.includes('accuracy')"
    )
    assert "class 3: angle" in page.inner_text("#rotation-drift")
    page.screenshot(path=str(shots / "explain.png"), full_page=True)


def _dynamics(page, shots: Path) -> None:
    """The snapshots' heatmaps, the unseen class over epochs, the map at an epoch."""
    open_tab(page, "Dynamics")
    wait_for_title(page, "dynamics-cka", "CKA")
    assert page.inner_text("#dynamics-note") == ""
    assert page.locator("#dynamics-heatmap .heatmaplayer, #dynamics-heatmap .hm").count() >= 1
    assert "closest to" in (page.text_content("#dynamics-affinity .legend") or "")
    # a click on the slider's "epoch 1" mark (the slider's track takes the pointer there)
    page.get_by_text("epoch 1", exact=True).first.click(force=True)
    wait_for_title(page, "dynamics-map", "at epoch 1")
    page.screenshot(path=str(shots / "dynamics.png"), full_page=True)


ANNOTATION_BOXES = """graph => [...document.querySelectorAll(graph + ' .annotation')].map(a => {
    const r = a.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; })"""


def _box(page, selector: str) -> dict:
    return page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, height: r.height}; }",
        selector,
    )


def test_an_mlp_explained_without_gaps(server: str, browser, shots: Path):
    """An MLP has no feature maps: no empty figure between its panels and the cluster picker,
    and the notes saying what is not shown are inside the panels' graph."""
    page = browser.new_page(viewport=WINDOW)
    errors = _errors(page)
    page.goto(server)
    wait_for_title(page, "embedding-graph", "coloured by")
    open_tab(page, "Explain")
    wait_for_title(page, "explain-panels", "why sample")
    page.wait_for_function(
        "document.querySelector('#explain-panels')?.innerText.includes('feature maps not shown')"
    )
    assert not page.is_visible("#explain-maps")
    panels, picker = _box(page, "#explain-panels"), _box(page, "#explain-cluster")
    assert 0 <= picker["top"] - panels["bottom"] < 60, (panels, picker)
    notes = [b for b in page.evaluate(ANNOTATION_BOXES, "#explain-panels") if b[2] > panels["top"]]
    assert max(b[3] for b in notes) <= panels["bottom"]
    page.screenshot(path=str(shots / "explain-mlp.png"), full_page=True)
    assert errors == []
    page.close()


def test_a_run_without_snapshots_in_a_real_browser(
    small_store: Path, tmp_path: Path, browser, shots: Path
):
    """The Dynamics view of a run without training snapshots: the whole sentence saying how to
    get them, readable (not cut), and no slider that does nothing."""
    import shutil

    from pathways.app.views.dynamics import NO_SNAPSHOTS

    store = tmp_path / "store"
    shutil.copytree(small_store, store, ignore=shutil.ignore_patterns("dynamics"))
    with serving(store) as address:
        page = browser.new_page(viewport=WINDOW)
        errors = _errors(page)
        page.goto(address)
        wait_for_title(page, "embedding-graph", "coloured by")
        open_tab(page, "Dynamics")
        page.wait_for_selector("#dynamics-note", state="visible")
        assert page.inner_text("#dynamics-note") == NO_SNAPSHOTS
        overflow = page.evaluate(
            "(() => { const n = document.querySelector('#dynamics-note');"
            " return n.scrollWidth - n.clientWidth; })()"
        )
        assert overflow <= 0
        assert not page.is_visible("#dynamics-epoch") and not page.is_visible("#dynamics-cka")
        page.screenshot(path=str(shots / "dynamics-none.png"), full_page=True)
        assert errors == []
        page.close()


def test_a_users_network_on_rgb_images_in_a_real_browser(rgb_server: str, browser, shots: Path):
    """The explorer on a user's residual network over an RGB image folder: class names in the
    pickers and legends, RGB images, explanations with a note where a method does not apply."""
    page = browser.new_page(viewport=WINDOW)
    console_errors = _errors(page)
    page.goto(rgb_server)
    page.wait_for_function(
        "document.querySelector('#embedding-graph .gtitle')?.textContent.includes('head.3')",
        timeout=30_000,
    )
    legend = page.text_content("#embedding-graph .legend") or ""
    assert all(name in legend for name in ("red", "green", "blue", "gold")), legend
    pick(page, "layer", "block.relu#1")
    page.wait_for_function(
        "document.querySelector('#embedding-graph .gtitle').textContent.startsWith('block.relu#1')"
    )
    page.screenshot(path=str(shots / "embedding-rgb.png"))

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
    page.screenshot(path=str(shots / "explain-rgb.png"), full_page=True)
    assert console_errors == []
    page.close()


def test_incomplete_run_shows_a_message_in_the_page(small_store: Path, tmp_path: Path, browser):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    shutil.rmtree(store / "small" / "novelty" / "mlp")
    with serving(store) as address:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(address)
        handle = page.wait_for_function(
            "(() => { const t = document.querySelector('#message')?.innerText || ''; return t.includes('incomplete') && t; })()",
            timeout=30_000,
        )
        message = handle.json_value()
        page.wait_for_timeout(1000)  # let any late callback land: the message must stay
        assert page.inner_text("#message") == message
        assert "no novelty output" in message and "pathways run" in message
        assert "Traceback" not in page.content() and errors == []
        page.close()


def test_the_map_fills_in_when_it_lands(small_store: Path, tmp_path: Path, browser):
    """A run writes its report before its maps: the explorer opened in between shows every
    other view, says the maps are on their way, and draws the map once the run stores it."""
    import os
    import shutil

    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    maps = store / "small" / "embedding" / "mlp"
    shutil.move(maps, tmp_path / "maps")
    with serving(store) as address:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(address)
        page.wait_for_selector("#embedding-graph text.annotation-text", timeout=30_000)
        assert "no 2-D maps of mlp yet" in page.inner_text("#embedding-graph")
        assert page.inner_text("#message") == ""  # the rest of the run is there to explore
        assert page.locator("#embedding-graph .legend").count() == 0
        shutil.move(tmp_path / "maps", maps)  # the maps land, and the run's record with them
        os.utime(store / "small" / "run.json")
        wait_for_title(page, "embedding-graph", "coloured by class")  # within a few seconds
        assert "3" in (page.text_content("#embedding-graph .legend") or "")
        assert "no 2-D maps" not in page.inner_text("#embedding-graph")
        assert "Traceback" not in page.content() and errors == []
        page.close()
