"""Candidate default novelty scores, compared on the open-set benchmark's stored runs.

    pathways benchmark openset --protocol mnist --protocol fashion --protocol pairs
    python tests/tools/novelty_variants.py data/store

Every variant combines per-component empirical tail probabilities (against the trained
classes' train samples) with Fisher's method, as the signature-path score does; the components
are each hidden layer's closest-class Mahalanobis distance (``maha``), each hidden layer's
k-th-neighbour distance in L2-normalised features (``knn``, k = 10), and the path rarity
(``path``). Prints the mean AUROC (unseen vs trained test samples, pooled) per variant,
protocol and model. The protocol for choosing one (issue 16): pick on the ``fashion`` splits,
report on ``mnist``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pathways.analysis.activations import layer_names, load_layer, load_samples
from pathways.analysis.novelty import knn_distance, mahalanobis, path_rarity, tail_probability
from pathways.analysis.stats import auroc


def fisher(parts: list[np.ndarray], fit: np.ndarray) -> np.ndarray:
    return sum(-2 * np.log(tail_probability(p, p[fit])) for p in parts)


def variants(run: Path, model: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    path = run / "capture" / model / "activations.parquet"
    samples = load_samples(path)
    labels, seen = samples["label"].to_numpy(), samples["seen"].to_numpy()
    split = samples["split"].astype(str).to_numpy()
    fit = seen & (split == "train")
    hidden = [load_layer(path, n).values for n in layer_names(path, include_output=False)]
    table = pd.read_parquet(run / "paths" / model / "sample_paths.parquet")
    paths = table.set_index("sample_id").loc[samples["sample_id"], "path"].to_numpy()
    maha = [mahalanobis(h, labels, fit) for h in hidden]
    knn = [knn_distance(h, fit, 10) for h in hidden]
    path_part = [path_rarity(paths, fit)]
    found = {
        "maha+path (signature_path)": fisher(maha + path_part, fit),
        "maha": fisher(maha, fit),
        "knn (last layer)": knn[-1],
        "knn, every layer": fisher(knn, fit),
        "maha + knn last layer": fisher(maha + knn[-1:], fit),
        "maha + knn": fisher(maha + knn, fit),
        "maha + knn + path": fisher(maha + knn + path_part, fit),
    }
    return found, ~seen, split == "test"


def main(store: Path) -> None:
    rows = []
    for run in sorted(store.glob("openset-*-*")):
        protocol = run.name.split("-")[1]
        for model in sorted(p.name for p in (run / "capture").iterdir()):
            found, unseen, test = variants(run, model)
            for name, score in found.items():
                rows.append(
                    {
                        "protocol": protocol,
                        "model": model,
                        "variant": name,
                        "auroc": auroc(score[test], unseen[test]),
                    }
                )
    if not rows:
        raise SystemExit(f"no open-set runs in {store} — run `pathways benchmark openset` first")
    table = pd.DataFrame(rows).pivot_table(
        index="variant", columns=["protocol", "model"], values="auroc", aggfunc="mean"
    )
    print(table.round(3).to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/store"))
