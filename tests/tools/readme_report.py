"""The README's report excerpt, cut from a real report so that it cannot drift.

    python tests/tools/readme_report.py [STORE]     # default STORE: data/store

reads ``STORE/default/report/report.json`` (the default experiment's report: run
``pathways run`` first) and rewrites the block between the README's ``report-excerpt`` markers:
for every model, the first sentence of each of the three answers and how unusual the unseen
class is, quoted word for word from the Markdown report. ``tests/integration/
test_readme_report.py`` runs the default experiment and checks the README's block against it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from pathways.analysis.report_markdown import render_markdown

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- report-excerpt: made by tests/tools/readme_report.py; do not edit by hand -->"
END = "<!-- /report-excerpt -->"
_NUMBER = re.compile(r"[-+]?\d*\.?\d+")


def excerpt(report: dict) -> str:
    """Per model: its heading, the lead sentence under each question, and where its first
    unseen class goes, how unusual it is and how many of it are flagged, as a Markdown quote."""
    lines: list[str] = []
    model = None
    taken: set[tuple[str, str]] = set()
    question = ""
    for line in render_markdown(report).splitlines():
        if line.startswith("## "):
            model, question = line[3:], ""
            lines += [f"> **{model}**", ">"]
        elif line.startswith("### "):
            question = line[4:6]
        elif model and question in {"1.", "2.", "3."} and (model, question) not in taken:
            if line.startswith("- **"):
                taken.add((model, question))
                lines += [f"> {question} {line[2:]}", ">"]
        for lead in ("Where it goes", "How unusual", "Flagged as novel"):
            if model and line.strip().startswith(lead) and (model, lead) not in taken:
                taken.add((model, lead))
                lines += [f"> {line.strip()}", ">"]
    return "\n".join(lines[:-1])


def readme_block(text: str) -> str:
    """The excerpt now in the README (between the markers)."""
    start = text.index(START) + len(START)
    return text[start : text.index(END, start)].strip("\n")


def same_but_for_rounding(written: str, real: str, tolerance: float = 0.011) -> bool:
    """The same words, and numbers within ``tolerance`` (0.011: a last digit of 0.965 or of a
    percentage that another CPU's rounding moved), so a changed figure is caught."""
    if _NUMBER.sub("#", written) != _NUMBER.sub("#", real):
        return False
    pairs = zip(_NUMBER.findall(written), _NUMBER.findall(real), strict=True)
    return all(abs(float(a) - float(b)) <= tolerance * max(1.0, abs(float(b))) for a, b in pairs)


def main(store: Path) -> None:
    report = json.loads((store / "default" / "report" / "report.json").read_text())
    text = README.read_text(encoding="utf-8")
    old = readme_block(text)
    README.write_text(text.replace(old, excerpt(report)), encoding="utf-8")
    print(f"README.md: report excerpt {'unchanged' if old == excerpt(report) else 'rewritten'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/store"))
