"""The baselines that lead OpenOOD v1.5's near-OOD tables, on the stored activations.

Each was read against its paper and the code OpenOOD runs (OpenOOD's own postprocessors for ASH
and SCALE; the authors' repositories for NAC and CombOOD, which OpenOOD lists on its leaderboard
only). They read the last hidden layer (and, for CombOOD, every layer's extremes); the output
layer's ``W`` and ``b`` are recovered by :func:`pathways.analysis.novelty.output_layer`. Every
score here is a *novelty* (higher = more unusual): the negative of the confidence OpenOOD
returns.

- ``ash``: ASH-B (Djurisic et al., ICLR 2023) as OpenOOD's ``ASHNet`` calls it — keep the
  top ``k = D − round(D · p / 100)`` units of a sample, set each to the sample's total
  activation divided by ``k``, the rest to 0, and take the energy of the resulting logits;
  ``p = 90`` (OpenOOD's config; its leaderboard tunes ``p`` on OOD validation data, which an
  open-set run does not have).
- ``scale``: SCALE (Xu et al., ICLR 2024) — the unpruned features times ``exp(s1 / s2)``
  (``s1`` the total, ``s2`` the total of the top ``k`` at ``p = 85``), then the energy.
- ``nac``: NAC-UE (Liu et al., ICLR 2024; BierOne/ood_coverage) on the last hidden layer (the
  code's default ``layer_names``): each unit's *state* σ(α · o · ∂KL(u‖p)/∂o), whose gradient
  for a layer feeding the output layer is ``Wᵀ(softmax − 1/C)``; per unit a histogram of the
  fitted samples' states over ``M = 50`` log-spaced bins densest around 0.5, coverage
  ``min(count / O, 1)``; the score is one minus the mean coverage of the sample's bins.
  Two choices of ours: ``O`` = 5 % of the fitted samples (the code's 50 of 1,000 images) and
  ``α`` = one over the median non-zero |o · g| of the fitted samples (the code's α = 100 was
  tuned for CIFAR's ResNet-18; a scale-free α keeps the states spread over the bins). NAC at
  earlier layers needs gradients the capture does not store.
- ``combood``: CombOOD (Rajasekaran et al., SDM 2024; rmagesh148/combood's live code path):
  ``√n · ln d_K² + D_M²`` — ``d_K`` the distance to the K-th (50th) nearest fitted sample in
  L2-normalised last-hidden features (``n`` units), ``D_M`` the Mahalanobis norm (mean 0,
  covariance + identity) of the *extreme features* — every hidden layer's largest and minus
  its smallest stored value, and the largest and minus the smallest logit — scaled and
  Yeo–Johnson transformed on the fitted samples. The code takes the extremes of each ReLU's
  input; the capture stores layer outputs, so ours are of those (constant ones dropped).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp, softmax
from sklearn.preprocessing import PowerTransformer, StandardScaler

from pathways.analysis.novelty import NoveltyInputs
from pathways.analysis.novelty_scores import NOVELTY_SCORES

ASH_PERCENTILE, SCALE_PERCENTILE = 90.0, 85.0
NAC_BINS, NAC_COVERAGE_SHARE = 50, 0.05
COMBOOD_K = NOVELTY_SCORES["combood"].neighbours


def kept_units(n_units: int, percentile: float) -> int:
    """How many units ASH and SCALE keep (OpenOOD: ``D − round(D · p / 100)``, at least 1)."""
    return max(n_units - int(np.round(n_units * percentile / 100)), 1)


def _top_sums(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices of each row's ``k`` largest values, their sum per row)."""
    top = np.argpartition(-x, k - 1, axis=1)[:, :k]
    return top, np.take_along_axis(x, top, axis=1).sum(axis=1)


def ash_b(
    features: np.ndarray, weights: np.ndarray, bias: np.ndarray, percentile: float = ASH_PERCENTILE
) -> np.ndarray:
    """ASH-B's novelty: −logsumexp of the logits of the binarised top units."""
    x = features.astype(np.float64)
    k = kept_units(x.shape[1], percentile)
    top, _ = _top_sums(x, k)
    shaped = np.zeros_like(x)
    np.put_along_axis(shaped, top, (x.sum(axis=1) / k)[:, None], axis=1)
    return -logsumexp(shaped @ weights.T + bias, axis=1)


def scale(
    features: np.ndarray,
    weights: np.ndarray,
    bias: np.ndarray,
    percentile: float = SCALE_PERCENTILE,
) -> np.ndarray:
    """SCALE's novelty: −logsumexp of the logits of the features times ``exp(s1 / s2)``."""
    x = features.astype(np.float64)
    _, kept = _top_sums(x, kept_units(x.shape[1], percentile))
    total = x.sum(axis=1)
    ratio = np.divide(total, kept, out=np.zeros_like(total), where=kept > 0)
    return -logsumexp(np.exp(ratio)[:, None] * (x @ weights.T) + bias, axis=1)


def nac_products(features: np.ndarray, logits: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """float[n, units]: ``o · g``, each activation times ``g = Wᵀ(softmax(logits) − 1/C)``, the
    gradient of KL(uniform ‖ softmax) with respect to a layer that feeds the output layer."""
    p = softmax(logits.astype(np.float64), axis=1)
    return features.astype(np.float64) * ((p - 1.0 / p.shape[1]) @ weights)


def nac_states(
    features: np.ndarray, logits: np.ndarray, weights: np.ndarray, alpha: float
) -> np.ndarray:
    """float[n, units]: NAC's neuron states σ(α · o · g) (:func:`nac_products`)."""
    return expit(alpha * nac_products(features, logits, weights))


def nac_edges(bins: int = NAC_BINS) -> np.ndarray:
    """NAC's ``bins`` histogram edges (``bins − 1`` bins): log-spaced from 0 and from 1 towards
    0.5, the last state edge 1.01, and 1.2 appended."""
    half = np.log(np.linspace(1.0, np.sqrt(1000.0), bins // 2)) / np.log(1000.0)
    edges = np.unique(np.concatenate([half, 1.0 - half]))
    edges[-1] = 1.01
    return np.append(edges, 1.2)


def _bins(states: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each state's bin (``edge_i ≤ s < edge_i+1``)."""
    return np.clip(np.searchsorted(edges, states, side="right") - 1, 0, len(edges) - 2)


def coverage_table(states: np.ndarray, edges: np.ndarray, minimum: float) -> np.ndarray:
    """float[bins, units]: ``min(count / minimum, 1)`` of the fitted samples' states per bin."""
    bins = _bins(states, edges)
    counts = np.zeros((len(edges) - 1, states.shape[1]))
    for unit in range(states.shape[1]):
        counts[:, unit] = np.bincount(bins[:, unit], minlength=len(edges) - 1)
    return np.minimum(counts / minimum, 1.0)


def nac_coverage(states: np.ndarray, table: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """float[n]: the mean over units of the coverage of each sample's state bin (in [0, 1])."""
    return np.take_along_axis(table, _bins(states, edges), axis=0).mean(axis=1)


def nac(
    features: np.ndarray, logits: np.ndarray, weights: np.ndarray, fit: np.ndarray
) -> np.ndarray:
    """NAC-UE's novelty on one layer feeding the output layer (weights ``W``): 1 − coverage."""
    product = nac_products(features, logits, weights)
    typical = np.abs(product[fit])
    typical = typical[typical > 0]
    alpha = 1.0 / np.median(typical) if typical.size else 1.0
    states = expit(alpha * product)
    edges = nac_edges()
    table = coverage_table(states[fit], edges, max(NAC_COVERAGE_SHARE * fit.sum(), 1.0))
    return 1.0 - nac_coverage(states, table, edges)


def combood_combination(
    neighbour_sq: np.ndarray, mahalanobis: np.ndarray, n_units: int
) -> np.ndarray:
    """CombOOD's novelty ``√n · ln d_K² + D_M²`` (its confidence negated)."""
    return np.sqrt(n_units) * np.log(np.maximum(neighbour_sq, 1e-300)) + mahalanobis**2


def extreme_features(hidden: dict[str, np.ndarray], logits: np.ndarray) -> np.ndarray:
    """float[n, 2 · (layers + 1)]: each hidden layer's largest and minus its smallest value, and
    the logits' (CombOOD's X-OOD features, of layer outputs)."""
    columns = []
    for values in [*hidden.values(), logits]:
        columns += [values.max(axis=1), -values.min(axis=1)]
    return np.stack(columns, axis=1).astype(np.float64)


def combood(inputs: NoveltyInputs) -> np.ndarray:
    """CombOOD's novelty of every sample (see the module's notes)."""
    x, fit = extreme_features(inputs.hidden, inputs.logits), inputs.fit
    x = x[:, x[fit].std(axis=0) > 0]  # a constant extreme (a ReLU layer's minimum) says nothing
    scaled = StandardScaler().fit(x[fit]).transform(x)
    z = PowerTransformer(method="yeo-johnson").fit(scaled[fit]).transform(scaled)
    precision = np.linalg.inv(
        np.cov(z[fit], rowvar=False).reshape(z.shape[1], -1) + np.eye(z.shape[1])
    )
    distance = np.sqrt(np.maximum(((z @ precision) * z).sum(axis=1), 0.0))
    neighbour = inputs.knn(inputs.last_layer, COMBOOD_K)
    return combood_combination(neighbour**2, distance, inputs.last_hidden.shape[1])


def ash_scores(inputs: NoveltyInputs) -> dict[str, np.ndarray]:
    return {"ash": ash_b(inputs.last_hidden, *inputs.output_layer())}


def scale_scores(inputs: NoveltyInputs) -> dict[str, np.ndarray]:
    return {"scale": scale(inputs.last_hidden, *inputs.output_layer())}


def nac_scores(inputs: NoveltyInputs) -> dict[str, np.ndarray]:
    weights, _ = inputs.output_layer()
    return {"nac": nac(inputs.last_hidden, inputs.logits, weights, inputs.fit)}


def combood_scores(inputs: NoveltyInputs) -> dict[str, np.ndarray]:
    return {"combood": combood(inputs)}
