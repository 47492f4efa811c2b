"""Layering: the runner, store, config and CLI never import torch, so cached runs start fast."""

from __future__ import annotations

import subprocess
import sys


def test_cli_store_and_analysis_import_without_torch():
    code = (
        "import sys; import pathways, pathways.cli.main, pathways.stages.plan, pathways.engine.steps, "
        "pathways.engine.artifacts, pathways.engine.runner, pathways.engine.executors, pathways.stages.registry, "
        "pathways.experiment.model_types, pathways.store.activations, pathways.experiment.config, pathways.store.runs, "
        "pathways.stages.analysis, pathways.analysis.report, pathways.store.partitioned, "
        "pathways.app; "
        "from pathways.experiment.config import default_experiment; from pathways.stages.plan import build_plan; "
        "build_plan(default_experiment()); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
