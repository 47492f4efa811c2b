"""Layering: the runner, store, config and CLI never import torch, so cached runs start fast."""

from __future__ import annotations

import subprocess
import sys


def test_cli_store_and_analysis_import_without_torch():
    code = (
        "import sys; import pathways, pathways.cli, pathways.pipeline, pathways.planning, "
        "pathways.artifacts, pathways.execution, pathways.executors, pathways.stage_registry, "
        "pathways.model_types, pathways.store, pathways.config, pathways.runs, "
        "pathways.analysis.analysis_stages, pathways.analysis.report, pathways.partitioned, "
        "pathways.app; "
        "from pathways.config import default_experiment; from pathways.pipeline import build_plan; "
        "build_plan(default_experiment()); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
