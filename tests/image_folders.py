"""Generated labelled RGB image folders, and the experiment that runs a user's network
(tests/integration/user_nets.py) on one, for the tests of a user's own network and images."""

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


def rgb_experiment(name: str, more_models: str = "", stability_seeds: int = 1) -> str:
    """The TOML of an experiment on a ``write_images`` folder called ``images``: the user's
    ``SmallResNet`` (then ``more_models``, TOML ``[[models]]`` tables), small explain settings."""
    return f"""
name = "{name}"
trained_classes = ["red", "green", "blue"]
unseen_classes = ["gold"]

[data]
source = "folder"
path = "images"
normalize = "trained"

[[models]]
name = "resnet"
type = "torch"
factory = "user_nets:SmallResNet"
arguments = {{ width = 8 }}
{more_models}
[training]
epochs = 12
learning_rate = 0.01
batch_size = 32

[analysis]
stability_seeds = {stability_seeds}
min_cluster_size = 5

[explain]
samples_per_class = 2
members_per_cluster = 4
occlusion_patch = 4
rotation_angles = [-30, 0, 30]
rotation_samples_per_class = 4
ig_steps = 8
"""
