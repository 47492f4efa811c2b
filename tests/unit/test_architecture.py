"""The architecture holds: layer contracts, no import cycle, each idea declared once."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from pathways.config import default_experiment, parse_text
from pathways.errors import ConfigError
from pathways.model_types import MODEL_TYPES
from pathways.planning import Stage
from pathways.stage_registry import STAGES, StageEntry, stage_parameters

REPO = Path(__file__).resolve().parents[2]


def test_layer_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a development dependency"
    result = subprocess.run([lint], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.count("KEPT") == 4


def test_the_package_has_no_import_cycle():
    graph = grimp.build_graph("pathways", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("pathways") and graph.chain_exists(imported, module):
                cycles.append(f"{module} -> {imported} -> … -> {module}")
    assert not cycles, cycles


@pytest.mark.parametrize("name", list(STAGES))
def test_each_stage_is_one_function_whose_signature_the_plan_reads(name: str):
    entry = STAGES[name]
    func = entry.stage.load()
    signature = inspect.signature(func).parameters
    keyword = [p for p, v in signature.items() if v.kind is inspect.Parameter.KEYWORD_ONLY]
    assert "progress" in keyword
    assert stage_parameters(entry.stage) == tuple(
        p for p in keyword if p != "progress" and p not in entry.stage.options
    )
    positional = [p for p, v in signature.items() if v.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert positional == (["upstream"] if "upstream" in signature else list(entry.stage.inputs))
    assert all(v.annotation is not inspect.Parameter.empty for v in signature.values())


def test_a_stage_asking_for_an_undefined_parameter_fails_when_the_plan_is_built(monkeypatch):
    def misspelt(capture, *, knn_kk: int, progress):  # noqa: ARG001 - never runs
        return {}

    monkeypatch.setitem(STAGES, "novelty", StageEntry(Stage("novelty", 9, misspelt, ("capture",))))
    from pathways.pipeline import build_plan

    with pytest.raises(ConfigError, match="stage novelty asks for parameter 'knn_kk'"):
        build_plan(default_experiment())


@pytest.mark.parametrize("name", list(MODEL_TYPES))
def test_every_model_type_builds_from_its_defaults(name: str):
    from pathways.models import build_model

    kind = MODEL_TYPES[name]
    spec = kind.spec.model_validate({"name": "m", "type": name})
    network = build_model(spec, 3)
    assert network.input_kind == kind.input_kind and network.hidden_layers
    if kind.explanations:
        assert set(spec.conv_layers) <= set(network.feature_map_layers)
    toml = f'[[models]]\nname = "m"\ntype = "{name}"\n'
    assert parse_text(toml).models[0].type == name
