"""The ``report`` stage: the three answers over every model (:mod:`pathways.analysis.report`),
as ``report.json`` and ``report.md``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pathways.analysis.report import build_report
from pathways.analysis.report_markdown import render_markdown
from pathways.engine.progress import Progress
from pathways.engine.steps import step_parts


def report_stage(
    upstream: Mapping[str, Any],
    *,
    models: list[str],
    trained_classes: list[int],
    unseen_classes: list[int],
    progress: Progress,
) -> dict[str, Any]:
    """One report over all models. ``upstream`` holds each model's steps by step id
    (``novelty/mlp``); the report reads them by (model, stage)."""
    outputs = {}
    for step, found in upstream.items():
        stage, model = step_parts(step)
        outputs[model, stage] = found
    report = build_report(outputs, models, trained_classes, unseen_classes)
    return {"report": report, "report.md": render_markdown(report).encode()}
