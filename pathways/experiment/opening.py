"""The settings of the stages that open up a trained network: explanations and the rotation
study (``[explain]``), checks by editing the network (``[interventions]``) and the strategies
of each class (``[strategies]``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pathways.experiment.model_types import LAYER_NAME
from pathways.experiment.schema import PositiveInt, Strict


class ExplainSpec(Strict):
    """Explanations (``explain/M``) and the rotation study (``rotation/M``), for every model."""

    samples_per_class: PositiveInt = 8
    """Test samples of each class (trained and unseen) explained one by one."""
    layer: str = Field("conv2", pattern=r"^conv[1-9]$")
    """Conv layer of the built-in CNNs for Grad-CAM and for the DeconvNet projection of its
    strongest activation (a ``torch`` model names its own: ``explain_layer``)."""
    occlusion_patch: PositiveInt = Field(6, le=256)
    """Side of the square black (zero) patch slid over the image, in pixels of the stored image."""
    occlusion_stride: PositiveInt = Field(2, le=256)
    ig_steps: PositiveInt = Field(32, le=512)
    """Steps of the Integrated Gradients path integral (from a black image)."""
    cluster_layers: list[Annotated[str, Field(pattern=LAYER_NAME)]] | None = None
    """Layers whose clusters get mean occlusion and Grad-CAM maps (default: every hidden layer)."""
    members_per_cluster: PositiveInt = 24
    """At most this many members per cluster (a seeded draw) enter its mean maps."""
    rotation_angles: list[Annotated[float, Field(ge=-180, le=180)]] = Field(
        default_factory=lambda: [float(a) for a in range(-90, 91, 15)], min_length=2
    )
    rotation_samples_per_class: PositiveInt = 50
    """Test samples of each class rotated by every angle."""
    drift_share: float = Field(0.5, gt=0.0, le=1.0)
    """A rotated class has drifted at a layer once this share of its samples lies outside its
    unrotated signature (beyond the 95th percentile of unrotated test distances)."""
    seed: int = 0


class InterventionsSpec(Strict):
    """Checks of the three answers by editing the network (``interventions/M``, every model)."""

    samples_per_class: PositiveInt = 500
    """Test samples of each class (a seeded draw; all of them when a class has fewer) that every
    intervention runs on, and train samples of each trained class for means and centroids."""
    ablation: Literal["mean", "zero"] = "mean"
    """An ablated unit is set to the trained classes' mean output (per position, for a
    channel) or to zero."""
    max_share: float = Field(0.25, gt=0.0, le=1.0)
    """Ablate up to this share of a layer's units (k = 1, 2, 4, … and this share)."""
    random_draws: int = Field(20, ge=2, le=1000)
    """Draws of k random units, the baseline a signature must beat."""
    route_steps: int = Field(8, ge=1, le=30)
    """Bisection steps finding how far along the way to another class's route a sample must be
    moved to switch (the fraction is found within 1 / 2**steps)."""
    ig_steps: PositiveInt = Field(16, le=512)
    """Steps of the layer Integrated Gradients that ranks units for the attribution baseline."""
    break_share: float = Field(0.5, gt=0.0, lt=1.0)
    """A class is broken once its accuracy is at most this share of its accuracy untouched."""
    max_layers: PositiveInt = 6
    """Hidden layers edited: all up to this many; above, this many spread evenly from the first
    to the last (every edit runs the whole network, so the cost grows with layers × depth)."""
    budget: float = Field(20.0, gt=0.0)
    """Sample forward passes the stage may spend per sample of the run (capture spends one): a
    model whose edits would cost more is checked on fewer test samples per class (at least 30),
    so the stage stays within a fixed multiple of capture's cost however deep the network."""
    bootstrap: int = Field(1000, ge=0, le=100_000)
    """Bootstrap resamples of the 95 % intervals (0 = none)."""
    seed: int = 0


class StrategiesSpec(Strict):
    """How each trained class is recognised (``strategies/M``, every model): its attribution
    maps grouped into strategies (SpRAy) and tied to the activation paths."""

    samples_per_class: PositiveInt = Field(200, le=5000)
    """Samples of each trained class explained (a seeded draw; all when a class has fewer)."""
    split: Literal["train", "test", "all"] = "train"
    """The split they are drawn from: ``train``, where a shortcut the network learned lives."""
    method: Literal["integrated_gradients", "gradcam"] = "integrated_gradients"
    """The attribution: Integrated Gradients from a black image (every model) or Grad-CAM at
    the last spatial layer (a ``torch`` model's ``explain_layer``; a model without one falls
    back to Integrated Gradients and says so)."""
    ig_steps: PositiveInt = Field(16, le=512)
    map_side: int = Field(14, ge=2, le=256)
    """Maps are averaged down to at most this many cells a side before they are compared."""
    clustering: Literal["spectral", "hdbscan"] = "spectral"
    """``spectral``: k-means on the Laplacian's first eigenvectors, k from the eigengap (every
    map gets a strategy); ``hdbscan``: HDBSCAN on them (maps it leaves out get -1)."""
    max_strategies: int = Field(8, ge=1, le=50)
    """The eigengap chooses among 1 … this many strategies."""
    neighbours: int = Field(10, ge=2, le=200)
    """Neighbours per map in the k-nearest-neighbour graph."""
    permutations: int = Field(999, ge=0, le=100_000)
    """Permutations of the p-value of the strategies' agreement with the paths (0 = none)."""
    mask_share: float = Field(0.1, gt=0.0, lt=1.0)
    """Each strategy is checked by blacking out this share of the pixels its mean map points to
    most, on its members and on the class's other samples."""
    seed: int = 0
