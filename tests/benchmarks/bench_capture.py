"""Capture overhead: capture_activations vs plain inference over the same batches.

Both sides run the same trained-size models (MLP 784-256-128-64-2, LeNet-5) in inference mode
over the same pre-built batches and copy the outputs to numpy; capture also records every
hidden layer (conv layers as per-channel mean and max, as the pipeline stores them). A third
column shows the "capture everything" approach: a hook on every module keeping full outputs.

Run: python tests/benchmarks/bench_capture.py [--repeats 7] [--samples 10000]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from pathways.capture import capture_activations, channel_stats, keep_output
from pathways.data.subsets import ImageFormat
from pathways.model_input import model_inputs
from pathways.models import MLP, LeNet5

from _common import interleaved, large_images, median

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
        f"{'model':8} {'plain s':>8} {'capture s':>10} {'ratio':>6} {'everything s':>13} {'ratio':>6}"
    )
    torch.manual_seed(0)
    for name, model in [("mlp", MLP([256, 128, 64], 2)), ("lenet5", LeNet5(2))]:
        model.eval()
        kind = model.input_kind
        batches = [
            model_inputs(images[i : i + args.batch_size], kind, DIGIT)
            for i in range(0, len(images), args.batch_size)
        ]
        reducers = {
            n: keep_output if k == "dense" else channel_stats
            for n, k in model.hidden_layers.items()
        }
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
        print(f"{name:8} {p:8.3f} {c:10.3f} {c / p:6.2f} {e:13.3f} {e / p:6.2f}")


if __name__ == "__main__":
    main()
