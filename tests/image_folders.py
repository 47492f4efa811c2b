"""Generated labelled RGB image folders for the tests of a user's own images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = {
    "red": (210, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 60, 220),
    "gold": (230, 200, 40),
}


def write_images(root: Path, per_class: int = 30, seed: int = 0) -> None:
    """Four classes of 16×16 RGB images: a noisy background with a square of the class's
    colour; saved as PNG, with a JPEG and a BMP among them and a stray non-image file."""
    rng = np.random.default_rng(seed)
    for k, (name, colour) in enumerate(COLOURS.items()):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 50, (16, 16, 3), dtype=np.uint8)
            y, x = rng.integers(1, 8, 2)
            side = 5 + k % 3
            image[y : y + side, x : x + side] = np.clip(
                np.array(colour) + rng.integers(-15, 15, 3), 0, 255
            )
            suffix = {0: ".jpg", 1: ".bmp"}.get(i, ".png")
            Image.fromarray(image).save(folder / f"{i:03d}{suffix}", quality=95)
        (folder / "notes.txt").write_text("not an image")
