"""Capture overhead: capture_activations vs plain inference over the same batches.

Both sides run the same trained-size models (MLP 784-256-128-64-2, LeNet-5, and a user-style
residual network with batch norm and one ReLU module called twice, tests/integration/user_nets.py)
in inference mode over the same pre-built batches and copy the outputs to numpy; capture also
records every analysis layer the pipeline would (the user's network: every call of every
activation module, found by pathways.nets.layer_choice; conv layers as per-channel mean and max, as
the pipeline stores them). A third column shows the "capture everything" approach: a hook on
every module keeping full outputs.

Run: python tests/benchmarks/bench_capture.py [--repeats 7] [--samples 10000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from pathways.data.subsets import ImageFormat
from pathways.nets.capture import capture_activations, layer_reducers, of_layers
from pathways.nets.inputs import model_inputs
from pathways.nets.layer_choice import analysis_layers
from pathways.nets.models import MLP, LeNet5

from _common import interleaved, large_images, median

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from user_nets import SmallResNet  # noqa: E402

DIGIT = ImageFormat((28, 28))


def plain_inference(model, batches):
    with torch.inference_mode():
        return np.concatenate([model(x).numpy() for x in batches])


def everything(model, batches):
    names = [n for n, m in model.named_modules() if n and not list(m.children())]
    return capture_activations(model, batches, names)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, source = large_images(args.samples)
    print(
        f"{args.samples} images from {source}, batch {args.batch_size}, {args.threads} thread(s), "
        f"{args.repeats} interleaved repetitions, medians"
    )
    print(
        f"{'model':12} {'plain s':>8} {'capture s':>10} {'ratio':>6} {'everything s':>13} {'ratio':>6}"
    )
    torch.manual_seed(0)
    models = [
        ("mlp", MLP([256, 128, 64], 2), "flat"),
        ("lenet5", LeNet5(2), "image32"),
        ("user-resnet", SmallResNet(width=16, n_classes=2, in_channels=1), "image"),
    ]
    for name, model, kind in models:
        model.eval()
        batches = [
            model_inputs(images[i : i + args.batch_size], kind, DIGIT)
            for i in range(0, len(images), args.batch_size)
        ]
        layers = analysis_layers(model, batches[0][:2], 2)
        reducers = layer_reducers(layers)
        found = of_layers(capture_activations(model, batches, reducers).activations, layers)
        stored = {k.partition(":")[0] for k in found}
        if stored != set(layers) or any(len(v) != len(images) for v in found.values()):
            raise SystemExit(f"{name}: capture did not record every layer for every sample")
        times = interleaved(
            {
                "plain": lambda m=model, b=batches: plain_inference(m, b),
                "capture": lambda m=model, b=batches, r=reducers: capture_activations(
                    m, b, r, n_samples=len(images)
                ),
                "everything": lambda m=model, b=batches: everything(m, b),
            },
            args.repeats,
        )
        p, c, e = (median(times[k]) for k in ("plain", "capture", "everything"))
        print(f"{name:12} {p:8.3f} {c:10.3f} {c / p:6.2f} {e:13.3f} {e / p:6.2f}")


if __name__ == "__main__":
    main()
