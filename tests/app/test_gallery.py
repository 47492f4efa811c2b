"""The README gallery's tool (tests/tools/gallery.py) on the small run: one picture per view."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from browsing import CHROMIUM, WINDOW
from PIL import Image

from pathways.app.views import VIEWS

TOOL = Path(__file__).resolve().parents[1] / "tools" / "gallery.py"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_gallery_tool_shoots_every_view(small_store: Path, tmp_path: Path):
    spec = importlib.util.spec_from_file_location("gallery", TOOL)
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    out = tmp_path / "gallery"
    assert gallery.main([str(small_store), "--run", "small", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.png" for name in VIEWS)
    for picture in out.iterdir():
        width, height = Image.open(picture).size
        assert width == WINDOW["width"] and height >= WINDOW["height"]  # the whole page
