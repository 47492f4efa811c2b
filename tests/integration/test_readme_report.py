"""The README's report excerpt is the default experiment's real report:
``test_install.py`` runs the default experiment from the wheel, as a user does, and compares its
report with the README's excerpt (tests/tools/readme_report.py writes it); here, that the
comparison catches a changed word or figure and lets a last digit of rounding pass."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from readme_report import README, readme_block, same_but_for_rounding  # noqa: E402


def test_a_changed_figure_or_word_is_caught():
    written = "> 2. **1 vs 7: yes** — 70–100 % of the units differ; AUROC **0.965**"
    assert same_but_for_rounding(written, written.replace("0.965", "0.962"))  # rounding
    assert not same_but_for_rounding(written, written.replace("70–100", "70–89"))
    assert not same_but_for_rounding(written, written.replace("0.965", "0.940"))
    assert not same_but_for_rounding(written, written.replace("yes", "no"))


def test_the_readme_holds_an_excerpt_of_every_question():
    block = readme_block(README.read_text(encoding="utf-8"))
    for lead in ("> 1. **", "> 2. **", "> 3. **", "> Where it goes", "> How unusual"):
        assert lead in block, lead
