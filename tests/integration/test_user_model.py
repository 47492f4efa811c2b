"""A user's own network on a user's own images, through ``pathways run``, the report and the
explorer: a residual network (batch norm, a residual addition, one in-place ReLU called twice)
defined in tests/integration/user_nets.py, on a generated RGB image folder with four classes
(three trained, one unseen); the same network from a checkpoint; scikit-learn's 8×8 digits as
an ``.npz``; and every user mistake as one line through the CLI.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from image_folders import COLOURS, rgb_experiment, write_images
from PIL import Image

from _cli import pathways

pytestmark = pytest.mark.slow  # runs whole experiments (see README, Development)

HERE = Path(__file__).parent

PLAIN = """
[[models]]
name = "plain"
type = "torch"
factory = "user_nets:plain_cnn"
layers = ["1", "4"]
explain_layer = "4"
"""
EXPERIMENT = rgb_experiment("shapes", PLAIN, stability_seeds=2)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's project folder: their module, their images, their experiment, one run."""
    folder = tmp_path_factory.mktemp("project")
    shutil.copy(HERE / "user_nets.py", folder / "user_nets.py")
    write_images(folder / "images")
    (folder / "shapes.toml").write_text(EXPERIMENT)
    pathways("run", "shapes.toml", cwd=folder)
    return folder


def test_the_run_keeps_class_names_and_captures_every_activation_call(project: Path):
    run = project / "store" / "shapes"
    model = json.loads((run / "train/resnet/model.json").read_text())
    # the default layers: every call of every activation module, in the order they run
    assert model["hidden_layers"] == {
        "stem.2": "conv",
        "block.relu#0": "conv",
        "block.relu#1": "conv",
        "head.3": "dense",
    }
    # output i is trained_classes[i]: red, green, blue (labels by sorted folder name)
    names = model["class_names"]
    assert [names[str(c)] for c in model["classes"]] == ["red", "green", "blue"]
    assert model["image"]["shape"] == [16, 16, 3] and len(model["image"]["mean"]) == 3
    acts = pd.read_parquet(run / "capture/resnet/activations.parquet")
    assert len(acts) == 120
    assert set(acts["class_name"]) == set(COLOURS)
    assert (acts.groupby("class_name")["label"].nunique() == 1).all()
    assert sum(c.startswith("block_relu_0_mean__") for c in acts.columns) == 8
    assert sum(c.startswith("block_relu_1_max__") for c in acts.columns) == 8
    # the two calls of the reused ReLU are recorded apart: the second is after the addition
    assert not np.allclose(
        acts.filter(like="block_relu_0_mean").to_numpy(), acts.filter(like="block_relu_1_mean")
    )
    history = pd.read_parquet(run / "train/resnet/history.parquet")
    assert history["epoch"].max() == 12
    final = history[history.epoch == 12].set_index("split")["accuracy"]
    assert final["test"] > 0.8  # a colour square is easy: the network really trained
    plain = json.loads((run / "train/plain/model.json").read_text())
    assert plain["hidden_layers"] == {"1": "conv", "4": "conv"}
    assert (run / "stability/resnet/cluster_agreement.parquet").is_file()


def test_report_answers_in_class_names(project: Path):
    report = pathways("report", "shapes", cwd=project).stdout
    assert "trained on red, green, blue; unseen gold" in report
    assert "red vs green" in report and "block.relu#1" in report
    assert "gold (" in report  # the unseen class, by name


def test_explanations_for_every_method_or_a_reason(project: Path):
    run = project / "store" / "shapes"
    settings = json.loads((run / "explain/resnet/settings.json").read_text())
    methods = settings["methods"]
    assert methods["occlusion"] is None and methods["integrated_gradients"] is None
    assert methods["gradcam"] is None and settings["layer"] == "block.relu#1"
    assert "batch normalisation" in methods["deconv"] and "residual addition" in methods["deconv"]
    images = np.load(run / "explain/resnet/images.npy")
    assert images.shape[1:] == (16, 16, 3) and 0 <= images.min() and images.max() <= 1
    for name in ("occlusion_predicted", "integrated_gradients", "gradcam"):
        values = np.load(run / f"explain/resnet/{name}.npy")
        assert values.shape == images.shape[:3] and np.isfinite(values).all(), name
        assert np.abs(values).max() > 0, name
    assert np.isnan(np.load(run / "explain/resnet/deconv.npy")).all()
    # a network of convolutions, ReLUs and max-pooling only: the DeconvNet applies
    plain = json.loads((run / "explain/plain/settings.json").read_text())
    assert plain["methods"]["deconv"] is None
    deconv = np.load(run / "explain/plain/deconv.npy")
    assert np.isfinite(deconv).all() and np.abs(deconv).max() > 0
    assert set(plain["feature_map_layers"]) == {"1", "4"}
    curves = pd.read_parquet(run / "rotation/resnet/curves.parquet")
    assert set(curves["angle"]) == {-30.0, 0.0, 30.0} and curves["label"].nunique() == 4


def test_the_explorer_shows_rgb_images_and_class_names(project: Path):
    import base64
    import io

    from pathways.app.frame import Frame
    from pathways.app.reader import StoreReader

    reader = StoreReader(project / "store")
    frame = Frame(reader)
    state = frame.initial(["shapes"])
    assert state["message"] == ""
    assert state["layers"] == ["stem.2", "block.relu#0", "block.relu#1", "head.3", "logit"]
    labels = {o["label"] for o in state["class_options"]}
    assert labels == {"red", "green", "blue", "gold (unseen)"}
    legend = {t["name"] for t in state["embedding"]["data"]}
    assert legend == set(COLOURS)
    uri = reader.image_uri("shapes", 0)
    thumb = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert thumb.mode == "RGB" and thumb.width >= 48
    explain = frame.views["explain"]
    trained, unseen = reader.classes("shapes")
    samples, first, clusters, cluster, message = explain.pickers(
        "shapes", "resnet", trained + unseen
    )
    assert message == "" and len(samples) == 8 and clusters
    panels, maps, info = explain.sample("shapes", "resnet", first)
    titles = [a["text"] for a in panels["layout"]["annotations"]]
    pictures = panels["layout"]["images"]  # RGB as a PNG in its axes: the input, Grad-CAM's base
    assert titles[0] == "input (16×16)" and len(pictures) == 2
    assert pictures[0]["xref"] == "x" and pictures[1]["xref"] == f"x{len(titles) - 1}"
    assert pictures[0]["source"].startswith("data:image/png;base64,")
    assert any(t.startswith("Integrated Gradients") for t in titles)
    assert any(t.startswith("Grad-CAM at block.relu#1") for t in titles)
    assert any("DeconvNet not shown: the path from the input" in t for t in titles)
    assert not any(t.startswith("DeconvNet:") for t in titles)  # no empty axes for it
    assert {t["type"] for t in maps["data"]} == {"heatmap"}
    assert " (trained class)" in info or " (unseen class)" in info
    assert any(name in info for name in COLOURS)


@pytest.fixture(scope="module")
def from_checkpoint(project: Path) -> Path:
    """The trained resnet's state_dict saved as a user's checkpoint, and an experiment that
    loads it instead of training."""
    import torch
    from user_nets import SmallResNet

    weights = torch.load(project / "store/shapes/train/resnet/weights.pt", weights_only=True)
    (project / "weights").mkdir()
    torch.save(weights, project / "weights" / "resnet.pt")
    torch.manual_seed(5)  # the user's own untrained network: their snapshot of epoch 0
    torch.save(SmallResNet(width=8).state_dict(), project / "weights" / "resnet-0.pt")
    text = EXPERIMENT.replace('name = "shapes"', 'name = "shapes-ckpt"').replace(
        "arguments = { width = 8 }",
        'arguments = { width = 8 }\ncheckpoint = "weights/resnet.pt"\n'
        'snapshot_checkpoints = { 0 = "weights/resnet-0.pt", 4 = "weights/resnet.pt" }',
    )
    text = text.split('[[models]]\nname = "plain"')[0] + "[training]" + text.split("[training]")[1]
    (project / "ckpt.toml").write_text(text)
    pathways("run", "ckpt.toml", cwd=project)
    return project / "store" / "shapes-ckpt"


def test_a_checkpoint_is_measured_not_trained(project: Path, from_checkpoint: Path):
    history = pd.read_parquet(from_checkpoint / "train/resnet/history.parquet")
    assert history["epoch"].unique().tolist() == [0]  # measured once, never trained
    trained = pd.read_parquet(project / "store/shapes/train/resnet/history.parquet")
    final = trained[trained.epoch == trained.epoch.max()].set_index("split")["accuracy"]
    np.testing.assert_allclose(history.set_index("split")["accuracy"], final)
    ours = pd.read_parquet(from_checkpoint / "capture/resnet/activations.parquet")
    theirs = pd.read_parquet(project / "store/shapes/capture/resnet/activations.parquet")
    np.testing.assert_allclose(ours.filter(like="__"), theirs.filter(like="__"), atol=1e-5)
    assert not (from_checkpoint / "stability").exists()  # a checkpoint has no other seeds
    report = pathways("report", "shapes-ckpt", cwd=project).stdout
    assert "loaded from its checkpoint, not trained here" in report
    assert "cannot be re-trained" in report


def test_a_checkpoints_own_snapshots_stand_in_for_training_snapshots(from_checkpoint: Path):
    layers = pd.read_parquet(from_checkpoint / "dynamics/resnet/layers.parquet")
    assert sorted(layers["epoch"].unique()) == [0, 4]
    final = layers[layers["epoch"] == 4]
    np.testing.assert_allclose(final["cka_final"], 1.0, atol=1e-6)  # epoch 4 is its checkpoint
    assert (layers.loc[layers["epoch"] == 0, "cka_final"] < 0.99).any()
    report = pathways("report", "shapes-ckpt", cwd=from_checkpoint.parent.parent).stdout
    assert "During training" in report and "epochs 0, 4" in report


def test_scikit_learn_digits_as_npz(tmp_path: Path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(tmp_path / "digits8.npz", images=digits.images, labels=digits.target)
    (tmp_path / "small.toml").write_text(
        'name = "digits8"\ntrained_classes = [1, 7]\nunseen_classes = [3]\n'
        '[data]\nsource = "npz"\npath = "digits8.npz"\n'
        '[[models]]\nname = "mlp"\ntype = "mlp"\nhidden = [32, 16]\n'
        "[training]\nepochs = 10\n[analysis]\nstability_seeds = 1\n"
        "[explain]\nsamples_per_class = 2\nocclusion_patch = 3\nocclusion_stride = 1\n"
        "rotation_angles = [0, 45]\nrotation_samples_per_class = 4\n"
    )
    pathways("run", "small.toml", cwd=tmp_path)
    run = tmp_path / "store" / "digits8"
    acts = pd.read_parquet(run / "capture/mlp/activations.parquet")
    expected = int(np.isin(digits.target, [1, 3, 7]).sum())
    assert len(acts) == expected and set(acts["label"]) == {1, 3, 7}
    model = json.loads((run / "train/mlp/model.json").read_text())
    assert (
        model["image"]["shape"] == [8, 8]
        and model["parameters"] == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2
    )
    history = pd.read_parquet(run / "train/mlp/history.parquet")
    assert history[history.epoch == 10].set_index("split")["accuracy"]["test"] > 0.9
    settings = json.loads((run / "explain/mlp/settings.json").read_text())
    assert (
        settings["methods"]["occlusion"] is None
        and "no layer with spatial" in settings["methods"]["gradcam"]
    )
    occlusion = np.load(run / "explain/mlp/occlusion_predicted.npy")
    assert occlusion.shape[1:] == (8, 8) and np.abs(occlusion).max() > 0


def _one_line_error(folder: Path, toml: str, *args: str) -> str:
    (folder / "bad.toml").write_text(toml)
    result = pathways(*args, "bad.toml", cwd=folder, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("damage", "edit", "expected"),
    [
        ("truncate", None, "red/002.png: cannot read this image"),
        ("empty", None, "red: empty class folder"),
        (
            "size",
            None,
            "100.png: 12×20 pixels, but {root}/blue/000.jpg is 16×16 — set data.image_size = [16, 16]",
        ),
        (None, ('"gold"]', '"purple"]'), "unseen_classes: class 'purple' is not in"),
        (None, ("{ width = 8 }", "{ width = 8, n_classes = 5 }"), "the model's output is (2, 5)"),
        (None, ("{ width = 8 }", "{ width = 8, depth = 3 }"), "(**arguments) raised TypeError"),
        (None, ("{ width = 8 }", '{ width = 8 }\nlayers = ["block.rellu"]'), "closest: block.relu"),
        (None, ("{ width = 8 }", '{ width = 8 }\ncheckpoint = "missing.pt"'), "is not a file"),
        (None, ("{ width = 8 }", '{ width = 4 }\ncheckpoint = "weights/resnet.pt"'), "mis-shaped"),
        (None, ("user_nets:SmallResNet", "user_nets:Nothing"), "has no 'Nothing'"),
        (
            "junk",
            ("{ width = 8 }", '{ width = 8 }\ncheckpoint = "junk.pt"'),
            "not a loadable state_dict",
        ),
        (None, ("{ width = 8 }", '{ width = 8 }\nexplain_layer = "head.3"'), "with spatial maps"),
    ],
)
def test_user_mistakes_are_one_line(
    tmp_path: Path, from_checkpoint: Path, damage: str | None, edit: tuple | None, expected: str
):
    project = from_checkpoint.parent.parent
    shutil.copy(HERE / "user_nets.py", tmp_path / "user_nets.py")
    shutil.copytree(project / "weights", tmp_path / "weights")
    root = tmp_path / "images"
    write_images(root, per_class=6)
    if damage == "truncate":
        (root / "red" / "002.png").write_bytes((root / "red" / "002.png").read_bytes()[:60])
    elif damage == "empty":
        for file in (root / "red").iterdir():
            file.unlink()
    elif damage == "size":
        Image.new("RGB", (20, 12)).save(root / "red" / "100.png")
    elif damage == "junk":
        (tmp_path / "junk.pt").write_text("a text file, not a checkpoint\n" * 40)
    text = EXPERIMENT.split('[[models]]\nname = "plain"')[0] + "[training]\nepochs = 1\n"
    if edit is not None:
        text = text.replace(*edit)
    other = tmp_path / "store" / "other" / "kept.txt"  # a store that already holds a run
    other.parent.mkdir(parents=True)
    other.write_text("another run's output\n")
    line = _one_line_error(tmp_path, text, "run")
    assert expected.format(root=root) in line, line
    # the store as it was: the failed run's folder, lock and finished steps are gone
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "store").rglob("*")) == [
        Path("store/other"),
        Path("store/other/kept.txt"),
    ]
