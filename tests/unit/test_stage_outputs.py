"""Stages declare their outputs: every downstream read names a declared output of its upstream
stage, and the runner refuses a stage that returns something else."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from pathways.engine.runner import Runner
from pathways.engine.steps import Stage, Step
from pathways.stages.registry import STAGES

PACKAGE = Path(importlib.util.find_spec("pathways").origin).parent


def _module_tree(func: str) -> ast.Module:
    module = func.partition(":")[0]
    return ast.parse(Path(importlib.util.find_spec(module).origin).read_text())


def _reads(tree: ast.AST, names: set[str]) -> list[tuple[str, str, int]]:
    """(input name, output name, line) of every ``NAME["output"]`` and ``NAME.path("output")``
    in ``tree`` where NAME is one of ``names`` (a stage's inputs, as its functions call them)."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in names
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            found.append((node.value.id, node.slice.value, node.lineno))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "path"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in names
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.func.value.id, node.args[0].value, node.lineno))
    return found


def test_every_stage_declares_what_it_returns():
    for name, entry in STAGES.items():
        assert entry.stage.outputs, f"stage {name} declares no outputs"


def test_every_downstream_read_names_a_declared_upstream_output():
    """Each stage module's reads of its inputs (``train["model"]``, ``data.path("samples")``,
    also in its helpers, which take the inputs under the same names)."""
    checked, wrong = 0, []
    for entry in STAGES.values():
        stage = entry.stage
        inputs = set(stage.inputs)
        for upstream, output, line in _reads(_module_tree(stage.func), inputs):
            checked += 1
            if not STAGES[upstream].stage.declares(output):
                wrong.append(f"{stage.func} line {line}: {upstream}[{output!r}]")
    assert not wrong, wrong
    assert checked >= 20  # the reads were found: a parser that finds none would pass vacuously


def _report_reads() -> list[tuple[str, str, int]]:
    """The report's ``inputs[model, "STAGE"]["OUTPUT"]`` reads."""
    tree = ast.parse((PACKAGE / "analysis" / "report.py").read_text())
    found = []
    for node in ast.walk(tree):
        inner = node.value if isinstance(node, ast.Subscript) else None
        if (
            isinstance(inner, ast.Subscript)
            and isinstance(inner.slice, ast.Tuple)
            and isinstance(inner.slice.elts[-1], ast.Constant)
            and isinstance(node.slice, ast.Constant)
        ):
            found.append((inner.slice.elts[-1].value, node.slice.value, node.lineno))
    return found


def test_the_report_reads_only_declared_outputs_of_the_stages_it_reads():
    reads = _report_reads()
    report = STAGES["report"]
    wrong = [
        f"line {line}: {stage}[{output!r}]"
        for stage, output, line in reads
        if stage not in report.reads_models or not STAGES[stage].stage.declares(output)
    ]
    assert not wrong, wrong
    assert len(reads) >= 15
    assert {stage for stage, _, _ in reads} >= {"signatures", "novelty", "paths", "divergence"}


def _made(*, progress):
    return {"table": pd.DataFrame({"x": [1, 2]}), "stray": {"n": 2}}


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (("table",), "returned stray, which it does not declare"),
        (("table", "stray", "counts"), "returned no counts"),
    ],
)
def test_the_runner_refuses_a_stage_whose_outputs_differ_from_its_declaration(
    tmp_path, declared, message
):
    step = Step("made", Stage("made", 1, _made, outputs=declared), {})
    with pytest.raises(RuntimeError, match=message):
        Runner(tmp_path / "run").run([step])
    assert not (tmp_path / "run").exists()  # nothing saved, the new run folder removed


def test_an_output_declared_as_a_pattern_is_accepted(tmp_path):
    step = Step("made", Stage("made", 1, _made, outputs=("table",), may_output=("str*",)), {})
    Runner(tmp_path / "run").run([step])
    assert (tmp_path / "run" / "made" / "table.parquet").is_file()
