"""The public API: what users import is re-exported from ``pathways`` and works there."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import pathways


def test_every_public_name_resolves_to_its_module():
    for name in pathways.__all__:
        value = getattr(pathways, name)
        if name != "__version__":
            assert value.__module__ == pathways._EXPORTS[name], name
    with pytest.raises(AttributeError, match="no attribute 'capture'"):
        pathways.capture  # noqa: B018 - an internal module is not a public name
    assert sorted(pathways.__all__) == dir(pathways)


def test_importing_the_package_loads_nothing_heavy():
    code = "import sys, pathways; print(sorted({'torch', 'pandas', 'dash', 'sklearn'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_capture_through_the_public_api():
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
    x = torch.randn(10, 4)
    result = pathways.capture_activations(model, [(x[:6], None), (x[6:], None)], ["1"])
    with torch.no_grad():
        expected = torch.relu(model[0](x)).numpy()
    np.testing.assert_allclose(result.activations["1"], expected, rtol=1e-6)


def test_a_config_loads_through_the_public_api(tmp_path):
    experiment = pathways.parse_text(
        'name = "mine"\ntrained_classes = [0, 6]\nunseen_classes = [8]\n'
        '[[models]]\nname = "m"\ntype = "mlp"\n'
    )
    assert (experiment.name, experiment.trained_classes) == ("mine", [0, 6])
    assert pathways.load_experiment("default") == pathways.default_experiment()
    with pytest.raises(pathways.PathwaysError, match="trained_classes"):
        pathways.parse_text('name = "bad"\ntrained_classes = 3\n')
