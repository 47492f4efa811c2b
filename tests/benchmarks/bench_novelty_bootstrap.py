"""The novelty step's bootstrap at full size: this version against the previous one, side by side.

Reads a finished run's stored novelty scores (default: the 70,000-image ``fashion-full`` run's
MLP: 14,000 test samples, 8 unseen classes, 14 scores) and computes the pooled metrics, the
per-class metrics and the differences with their bootstrap intervals (1,000 resamples), twice
in one process: with a previous implementation and with this one (one count of each resample's
samples on the distinct scores per score and group, in integers, 8 resamples at a time, the
AUROC and the FPR from the same counts, each computed once). Checks that both give the same
intervals and prints the wall times and their ratio. Previous implementations:

- ``counts`` (default; 2026-12-01): the same counts in float64, 64 resamples at a time, made
  twice — once for the AUROC, once for the FPR;
- ``ranks`` (before): each resample's AUROC from a rank of its scores, every interval computed
  again where the differences need it (takes about 3 minutes).

    pathways run pipelines/fashion-full.toml --only novelty     # once, to have the scores
    python tests/benchmarks/bench_novelty_bootstrap.py [STORE/RUN] [--model mlp] [--previous counts]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from pathways.analysis import novelty_evaluation as novelty
from pathways.analysis import uncertainty


def previous_auroc(positive, negative, draws):
    pos = np.asarray(positive, dtype=np.float64)[draws.positives]
    neg = np.asarray(negative, dtype=np.float64)[draws.negatives]
    n_pos, n_neg = pos.shape[1], neg.shape[1]
    ranks = stats.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    return (ranks[:, :n_pos].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def previous_fpr(positive, negative, draws, tpr=0.95):
    pos = np.asarray(positive, dtype=np.float64)[draws.positives]
    neg = np.asarray(negative, dtype=np.float64)[draws.negatives]
    threshold = np.quantile(pos, 1.0 - tpr, axis=1, method="lower")
    return (neg >= threshold[:, None]).mean(axis=1)


def ranks_metrics(positive, negative, draws):
    return previous_auroc(positive, negative, draws), previous_fpr(positive, negative, draws)


def counts_metrics(positive, negative, draws, tpr=0.95):
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    n_pos, n_neg = len(pos), len(neg)
    distinct, inverse = np.unique(np.concatenate([pos, neg]), return_inverse=True)
    at_pos, at_neg, width = inverse[:n_pos], inverse[n_pos:], len(distinct)

    def counted(ids):
        rows = ids + (np.arange(len(ids)) * width)[:, None]
        counts = np.bincount(rows.ravel(), minlength=len(ids) * width)
        return counts.reshape(len(ids), width).astype(np.float64)

    def chunks():
        for start in range(0, len(draws), 64):
            part = slice(start, start + 64)
            yield counted(at_pos[draws.positives[part]]), counted(at_neg[draws.negatives[part]])

    aurocs = []
    for w_pos, w_neg in chunks():
        below = np.cumsum(w_neg, axis=1) - w_neg
        aurocs.append((w_pos * (below + 0.5 * w_neg)).sum(axis=1) / (n_pos * n_neg))
    k, fprs = int(np.floor((1.0 - tpr) * (n_pos - 1))), []
    for w_pos, w_neg in chunks():
        threshold = (np.cumsum(w_pos, axis=1) > k).argmax(axis=1)
        at_least = n_neg - (np.cumsum(w_neg, axis=1) - w_neg)[np.arange(len(w_neg)), threshold]
        fprs.append(at_least / n_neg)
    return np.concatenate(aurocs), np.concatenate(fprs)


PREVIOUS = {"counts": (counts_metrics, {}), "ranks": (ranks_metrics, None)}  # None: no sharing


def evaluate_all(scores, labels, seen, test, bootstrap, memo):
    ours = "signature_knn_path"
    return (
        novelty.evaluate(scores, ~seen, test, bootstrap, 0, memo),
        novelty.evaluate_by_class(scores, labels, ~seen, test, bootstrap, 0, memo),
        novelty.score_differences(scores, ours, labels, ~seen, test, bootstrap, 0, memo),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?", type=Path, default=Path("data/store/fashion-full"))
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--previous", choices=sorted(PREVIOUS), default="counts")
    args = parser.parse_args()
    path = args.run / "novelty" / args.model / "scores.parquet"
    if not path.is_file():
        raise SystemExit(
            f"no {path} — run `pathways run pipelines/fashion-full.toml --only novelty`"
        )
    table = pd.read_parquet(path)
    labels, seen = table["label"].to_numpy(), table["seen"].to_numpy()
    test = table["split"].astype(str).to_numpy() == "test"
    methods = [c for c in table.columns if c not in ("sample_id", "label", "split", "seen")]
    scores = {m: table[m].to_numpy(np.float64) for m in methods}
    n_unseen = int((test & ~seen).sum())
    if n_unseen < 1000 or len(methods) < 5:
        raise SystemExit(f"{path}: only {n_unseen} unseen test samples, {len(methods)} scores")

    start = time.perf_counter()
    now = evaluate_all(scores, labels, seen, test, args.bootstrap, {})
    t_now = time.perf_counter() - start

    previous, memo = PREVIOUS[args.previous]
    keep = novelty.metrics_resampled
    novelty.metrics_resampled = previous
    try:
        start = time.perf_counter()
        before = evaluate_all(scores, labels, seen, test, args.bootstrap, memo)
        t_before = time.perf_counter() - start
    finally:
        novelty.metrics_resampled = keep
    for a, b in zip(before, now, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=args.previous == "counts", rtol=1e-12)
    assert uncertainty.metrics_resampled is keep
    print(
        f"{path}: {int(test.sum())} test samples ({n_unseen} unseen, "
        f"{len(np.unique(labels[~seen]))} unseen classes), {len(methods)} scores, "
        f"{args.bootstrap} resamples; identical intervals"
    )
    print(
        f"previous ({args.previous}) {t_before:7.1f} s   now {t_now:6.1f} s   ratio {t_before / t_now:.1f}×"
    )


if __name__ == "__main__":
    main()
