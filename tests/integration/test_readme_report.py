"""The README's report excerpt is the default experiment's real report: the default run
(``pathways run``, as the README's first command does) gives the same sentences and, up to a
last digit of rounding, the same figures (tests/tools/readme_report.py writes the excerpt)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from _cli import pathways

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from readme_report import README, excerpt, readme_block, same_but_for_rounding  # noqa: E402


@pytest.mark.slow
def test_the_readme_quotes_the_default_report(tmp_path: Path, data_dir: Path):
    (tmp_path / "data").symlink_to(data_dir, target_is_directory=True)
    pathways("run", "--workers", "2", cwd=tmp_path)
    report = json.loads((tmp_path / "store" / "default" / "report" / "report.json").read_text())
    real, written = excerpt(report), readme_block(README.read_text(encoding="utf-8"))
    assert same_but_for_rounding(written, real), (
        "README.md's report excerpt is not the default run's report — run "
        "`pathways run && python tests/tools/readme_report.py`\n" + real
    )


def test_a_changed_figure_or_word_is_caught():
    written = "> 2. **1 vs 7: yes** — 70–100 % of the units differ; AUROC **0.965**"
    assert same_but_for_rounding(written, written.replace("0.965", "0.962"))  # rounding
    assert not same_but_for_rounding(written, written.replace("70–100", "70–89"))
    assert not same_but_for_rounding(written, written.replace("0.965", "0.940"))
    assert not same_but_for_rounding(written, written.replace("yes", "no"))
