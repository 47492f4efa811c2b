"""Regenerate the README's gallery: one screenshot of every explorer view on the default run.

    python tests/tools/gallery.py [STORE] [--run default] [--out tests/app/gallery]

Serves the explorer over STORE (default ``data/store``) and opens every view of the registry
(``pathways.app.views.VIEWS``: Embedding, Signatures, Compare, Paths, Sample, Novelty, Explain,
Strategies, Interventions, Dynamics) in headless Chromium at a fixed window size (``browsing.WINDOW``), saving
``<view>.png`` into the gallery. The views before Explain show the run's first model (the
MLP in the default run), Explain and the views after it its first CNN (LeNet-5); Sample shows
an unseen digit. When STORE has no run RUN, the default experiment is run into it first
(``pathways run --store STORE``). Fails when a view of the registry has no recipe here, so a
new view cannot be left out of the gallery, and when the page raises an error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "app"))

import pandas as pd  # noqa: E402
from browsing import WINDOW, chromium, open_tab, pick, serving, wait_for_title  # noqa: E402

from pathways.app.views import VIEWS  # noqa: E402


def _unseen_sample(store: Path, run: str) -> int:
    """The sixth sample of an unseen class (the first sample if there is none)."""
    samples = pd.read_parquet(
        store / run / "data" / "samples.parquet", columns=["sample_id", "seen"]
    )
    unseen = samples.loc[~samples["seen"], "sample_id"]
    return int(unseen.iloc[min(5, len(unseen) - 1)]) if len(unseen) else 0


def _wait(page, script: str) -> None:
    page.wait_for_function(script, timeout=60_000)


def _explain(page, cnn: str | None) -> None:
    if cnn:
        pick(page, "model", cnn)
    open_tab(page, "Explain")
    wait_for_title(page, "explain-panels", "why sample", 60_000)
    page.click("#explain-sample")
    page.get_by_role("option").filter(has_text="(unseen)").first.click()
    _wait(page, "document.querySelector('#explain-info')?.innerText.includes('unseen class')")
    _wait(page, "document.querySelector('#rotation-curves .legend') !== null")
    _wait(page, "document.querySelector('#explain-cluster-panels .gtitle') !== null")


def _strategies(page) -> None:
    open_tab(page, "Strategies")
    wait_for_title(page, "strategies-means", "how 1 is recognised", 60_000)
    page.click("#strategies-class")
    page.get_by_role("option").filter(has_text="7 ·").first.click()
    wait_for_title(page, "strategies-means", "how 7 is recognised", 60_000)
    _wait(page, "document.querySelector('#strategies-sankey .sankey') !== null")
    _wait(page, "document.querySelectorAll('#strategies-members img').length > 0")


def _sample(page, sample_id: int) -> None:
    open_tab(page, "Sample")
    page.fill("#sample-id", str(sample_id))
    page.keyboard.press("Enter")
    _wait(
        page, f"document.querySelector('#sample-info')?.innerText.includes('sample {sample_id} ')"
    )
    _wait(page, "document.querySelectorAll('#sample-neighbours img').length > 0")


def _recipes(sample_id: int, cnn: str | None) -> dict:
    """View name → how to open it and wait until it is drawn."""
    return {
        "embedding": lambda page: wait_for_title(page, "embedding-graph", "coloured by", 60_000),
        "signatures": lambda page: (
            open_tab(page, "Signatures"),
            wait_for_title(page, "signature-heatmap", "class signatures", 60_000),
            page.click("#ablate-run"),  # the ablation panel's first answer (the worker starts)
            _wait(page, "document.querySelector('#ablate-sample-line') !== null"),
        ),
        "compare": lambda page: (
            open_tab(page, "Compare"),
            _wait(page, "document.querySelector('#compare-summary li') !== null"),
            _wait(page, "document.querySelector('#divergence-curve .gtitle')?.textContent"),
        ),
        "paths": lambda page: (
            open_tab(page, "Paths"),
            _wait(page, "document.querySelector('#paths-sankey .sankey') !== null"),
        ),
        "sample": lambda page: _sample(page, sample_id),
        "novelty": lambda page: (
            open_tab(page, "Novelty"),
            _wait(page, "document.querySelector('#novelty-roc .legend') !== null"),
            wait_for_title(page, "novelty-flags", "false discovery rate", 60_000),
        ),
        "explain": lambda page: _explain(page, cnn),
        "strategies": _strategies,
        "interventions": lambda page: (
            open_tab(page, "Interventions"),
            wait_for_title(page, "interventions-ablation", "switched off", 60_000),
            _wait(page, "document.querySelector('#interventions-routes .gtitle') !== null"),
        ),
        "dynamics": lambda page: (
            open_tab(page, "Dynamics"),
            _wait(  # the snapshots' figures, or the note saying how to get them
                page,
                "document.querySelector('#dynamics-note')?.innerText.length > 0"
                " || document.querySelector('#dynamics-cka .gtitle') !== null",
            ),
        ),
    }


def _ensure_run(store: Path, run: str) -> None:
    if (store / run / "run.json").is_file():
        return
    print(f"no run {run!r} in {store}: running the default experiment (pathways run)")
    pathways = Path(sys.executable).parent / "pathways"
    subprocess.run([str(pathways), "run", "--store", str(store)], check=True, cwd=REPO)


def _cnn(store: Path, run: str) -> str | None:
    """The run's first convolutional model (its Explain view has every method), if any."""
    from pathways.store.runs import read_run

    models = read_run(store, run)["experiment"]["models"]
    return next((m["name"] for m in models if m["type"] in ("lenet5", "cnn")), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", nargs="?", type=Path, default=REPO / "data" / "store")
    parser.add_argument("--run", default="default")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "app" / "gallery")
    args = parser.parse_args(argv)
    args.store = args.store.resolve()
    _ensure_run(args.store, args.run)
    recipes = _recipes(_unseen_sample(args.store, args.run), _cnn(args.store, args.run))
    missing = set(VIEWS) - set(recipes)
    if missing:
        raise SystemExit(f"no gallery recipe for view(s) {sorted(missing)}: add one here")
    args.out.mkdir(parents=True, exist_ok=True)
    with serving(args.store) as address, chromium() as browser:
        page = browser.new_page(viewport=WINDOW)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(address)
        pick(page, "run", args.run)
        for name in VIEWS:
            recipes[name](page)
            page.mouse.move(0, 0)  # no hover toolbar, no focus ring in the picture
            page.evaluate("document.activeElement?.blur()")
            page.wait_for_timeout(800)  # let transitions and late callbacks settle
            page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
            print(f"{args.out / name}.png")
        if errors:
            raise SystemExit(f"the page raised: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
