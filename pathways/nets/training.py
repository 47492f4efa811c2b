"""Deterministic training of a classifier on in-memory tensors, with per-epoch metrics.

Batches are drawn by indexing tensors with a permutation from a seeded ``torch.Generator``
(no DataLoader workers: the data sets here fit in memory and a DataLoader costs more than the
small networks themselves). The same seed, data and thread count give the same weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from pathways.errors import TrainingDiverged


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator inside the block and restore its previous state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@dataclass
class TrainingResult:
    """Metrics of one training run, as tidy DataFrames.

    history : epoch, split, loss, accuracy
    per_class : epoch, split, class, n, accuracy
    confusion : split, true_class, predicted_class, count (after the last epoch)
    """

    history: pd.DataFrame
    per_class: pd.DataFrame
    confusion: pd.DataFrame


def predict(model: nn.Module, x: Tensor, batch_size: int = 2048) -> Tensor:
    """Logits of ``model`` for all of ``x``, in eval mode, without autograd."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def _evaluate(model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, np.ndarray]:
    logits = predict(model, x)
    loss = nn.functional.cross_entropy(logits, y).item()
    return loss, logits.argmax(1).cpu().numpy()


def train_classifier(
    model: nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    *,
    classes: list[int],
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    snapshots: Sequence[int] = (),
    on_snapshot: Callable[[int, nn.Module], None] | None = None,
) -> TrainingResult:
    """Train ``model`` with Adam and cross-entropy; targets are indices into ``classes``.

    Parameters
    ----------
    x_train, x_test : float32[n, ...] model inputs (on the model's device)
    y_train, y_test : int64[n] class indices
    classes : the class label of each output unit, for the per-class metrics
    on_epoch : called after each epoch with (epoch, {"train_loss", "test_accuracy", ...})
    snapshots, on_snapshot : ``on_snapshot(epoch, model)`` is called before the first epoch
        when 0 is in ``snapshots`` (the untrained network) and after each epoch in it

    Raises
    ------
    TrainingDiverged
        At the first batch (or evaluation) whose loss is NaN or infinite; no step is taken with it.
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    metrics = _Metrics(classes, {"train": (x_train, y_train), "test": (x_test, y_test)})
    n_batches = -(-len(x_train) // batch_size)
    wanted = set(snapshots) if on_snapshot is not None else set()
    if 0 in wanted:
        on_snapshot(0, model)  # type: ignore[misc]
    for epoch in range(1, epochs + 1):
        _train_epoch(model, optimizer, x_train, y_train, batch_size, generator, epoch, n_batches)
        summary = metrics.measure(model, epoch, n_batches)
        if epoch in wanted:
            on_snapshot(epoch, model)  # type: ignore[misc]
        if on_epoch is not None:
            on_epoch(epoch, summary)
    return metrics.result()


def evaluate_classifier(
    model: nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    *,
    classes: list[int],
) -> TrainingResult:
    """The metrics of :func:`train_classifier` for a model that is not trained (a loaded
    checkpoint), as epoch 0."""
    metrics = _Metrics(classes, {"train": (x_train, y_train), "test": (x_test, y_test)})
    metrics.measure(model, 0, 0)
    return metrics.result()


class _Metrics:
    """Loss and accuracy (overall and per class) of each split after each epoch, and the
    confusion after the last one."""

    def __init__(self, classes: list[int], splits: dict[str, tuple[Tensor, Tensor]]) -> None:
        self.classes, self.splits = classes, splits
        self.y_true = {split: y.cpu().numpy() for split, (_, y) in splits.items()}
        self.history: list[dict] = []
        self.per_class: list[dict] = []
        self.predictions: dict[str, np.ndarray] = {}

    def measure(self, model: nn.Module, epoch: int, n_batches: int) -> dict[str, float]:
        summary = {}
        for split, (x, y) in self.splits.items():
            loss_value, self.predictions[split] = _evaluate(model, x, y)
            if not np.isfinite(loss_value):
                raise TrainingDiverged(epoch, None, n_batches, loss_value, split)
            correct = self.predictions[split] == self.y_true[split]
            self.history.append(
                {"epoch": epoch, "split": split, "loss": loss_value, "accuracy": correct.mean()}
            )
            summary[f"{split}_loss"], summary[f"{split}_accuracy"] = loss_value, correct.mean()
            self.per_class += _per_class(epoch, split, self.classes, self.y_true[split], correct)
        return summary

    def result(self) -> TrainingResult:
        classes = self.classes
        confusion = [
            {
                "split": split,
                "true_class": classes[t],
                "predicted_class": classes[p],
                "count": int(((self.y_true[split] == t) & (self.predictions[split] == p)).sum()),
            }
            for split in self.splits
            for t in range(len(classes))
            for p in range(len(classes))
        ]
        return TrainingResult(
            pd.DataFrame(self.history), pd.DataFrame(self.per_class), pd.DataFrame(confusion)
        )


def _train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x_train: Tensor,
    y_train: Tensor,
    batch_size: int,
    generator: torch.Generator,
    epoch: int,
    n_batches: int,
) -> None:
    """One pass over the train samples in a seeded order; stops at a non-finite loss."""
    model.train()
    order = torch.randperm(len(x_train), generator=generator).to(x_train.device)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
        if not torch.isfinite(loss):
            raise TrainingDiverged(epoch, start // batch_size + 1, n_batches, loss.item())
        loss.backward()
        try:
            optimizer.step()
        except RuntimeError as exc:  # a rate beyond float32: "cannot be converted … overflow"
            if "overflow" not in str(exc):
                raise
            raise TrainingDiverged(epoch, start // batch_size + 1, n_batches, None) from None


def _per_class(
    epoch: int, split: str, classes: list[int], y_true: np.ndarray, correct: np.ndarray
) -> list[dict]:
    """The accuracy of each class on one split after one epoch."""
    rows = []
    for index, cls in enumerate(classes):
        members = y_true == index
        rows.append(
            {
                "epoch": epoch,
                "split": split,
                "class": cls,
                "n": int(members.sum()),
                "accuracy": float(correct[members].mean()) if members.any() else np.nan,
            }
        )
    return rows
