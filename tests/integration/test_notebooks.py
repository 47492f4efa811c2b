"""Every notebook in notebooks/ executes top to bottom against a real small run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(notebook: Path, small_store: Path, monkeypatch):
    _execute(notebook, small_store / "small", monkeypatch)
    assert os.environ["PATHWAYS_RUN"].endswith("small")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_on_a_users_network_and_images(
    notebook: Path, rgb_store: Path, monkeypatch
):
    """The same notebooks on a user's residual network over RGB images with named classes:
    they take the models, layers and classes from the run."""
    book = _execute(notebook, rgb_store / "rgb", monkeypatch)
    text = "".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "red" in text and "resnet" in text


def _execute(notebook: Path, run: Path, monkeypatch):  # noqa: ANN202
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(notebook, as_version=4)
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), (
        "store notebooks without outputs"
    )
    monkeypatch.setenv("PATHWAYS_RUN", str(run))
    client = NotebookClient(
        book,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    client.execute()
    errors = [
        output
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    figures = sum(
        1
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )
    if notebook.name != "01_load_outputs.ipynb":
        assert figures >= 1, f"{notebook.name} drew no figure"
    return book
