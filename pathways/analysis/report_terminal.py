"""The report fitted to a terminal's width (``pathways report``).

The sentences are the Markdown file's (:mod:`pathways.analysis.report_text`), wrapped to the
width; the tables get short headers, intervals on one line (``0.965 [.944–.982]``) and, in the
novelty table, short method names that stay distinct (``maha fc1``, with a legend). Where a
table would be wider than the terminal it drops columns: the notes become footnotes, then the
kind becomes a footnote mark, then the AUROC differences go. Wide terminals see every column.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.table import Table as RichTable
from rich.text import Text

from pathways.analysis.report_text import Table, percent, report_blocks, share_of
from pathways.errors import StoreError

_WORDS = {  # word of a method's name → its short form, and what the legend says it stands for
    "signature": ("sig", "signature"),
    "mahalanobis": ("maha", "mahalanobis"),
    "relative": ("rel", "relative"),
    "best-layer": ("best", "best layer"),
}
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Column:
    header: str
    cells: list[str]
    wrap: bool = False

    def width(self) -> int:
        return max(cell_len(x) for x in [*self.header.split("\n"), *self.cells])


def read_report(path: Path) -> dict[str, Any]:
    """A run's ``report.json``; a damaged one is a one-line error."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{path}: not readable as JSON ({exc.msg}, line {exc.lineno}) — re-run the report "
            "with `pathways run --only report --force`"
        ) from None


def piped_width(environ: Mapping[str, str]) -> int:
    """The width for output that is not a terminal (a pipe, a file): COLUMNS, or 80."""
    columns = environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else 80


def render_terminal(report: Mapping[str, Any], width: int) -> str:
    """The report as plain text, no line wider than ``width`` (but for a word longer than it)."""
    console = Console(
        width=width, file=io.StringIO(), color_system=None, markup=False, highlight=False
    )
    console.print(terminal_report(report, width))
    return console.file.getvalue()  # type: ignore[attr-defined]


def terminal_report(report: Mapping[str, Any], width: int) -> RenderableType:
    """The report as rich renderables for a console ``width`` columns wide."""
    parts: list[RenderableType] = []
    text: list[str] = []
    for block in report_blocks(report):
        if isinstance(block, Table):
            parts += [Markdown("\n".join(text)), Text("")] if text else []
            parts += [*_TABLES[block.kind](block, width), Text("")]
            text = []
        else:
            text.append(block)
    if text:
        parts.append(Markdown("\n".join(text)))
    return Group(*parts)


def _table(columns: Sequence[Column]) -> RichTable:
    table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for c in columns:
        table.add_column(c.header, no_wrap=not c.wrap, overflow="fold")
    for row in zip(*(c.cells for c in columns), strict=True):
        table.add_row(*row)
    return table


def _fits(columns: Sequence[Column], width: int) -> bool:
    return sum(c.width() for c in columns) + 2 * (len(columns) - 1) <= width


def _optional(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _curve(table: Table, width: int) -> list[RenderableType]:
    rows = table.rows
    return [
        _table(
            [
                Column("layer", [c["layer"] for c in rows]),
                Column("probe\naccuracy", [f"{c['probe_accuracy']:.3f}" for c in rows]),
                Column("signature\ndistance", [f"{c['signature_distance']:.2f}" for c in rows]),
                Column("cluster\npurity", [_optional(c["cluster_purity"], 3) for c in rows]),
                Column("NMI", [_optional(c["nmi"], 3) for c in rows]),
                Column("CKA with\ninput", [f"{c['cka_input']:.2f}" for c in rows]),
                Column("CKA with\nlogits", [f"{c['cka_logits']:.2f}" for c in rows]),
            ]
        )
    ]


def _units(table: Table, width: int) -> list[RenderableType]:
    rows = table.rows
    columns = [
        Column("layer", [x["layer"] for x in rows]),
        Column("units\ndiffering", [f"{x['n_significant']} / {x['n_units']}" for x in rows]),
        Column("share", [percent(x["share_significant"]) for x in rows]),
        Column("median abs(d)\nof those", [f"{x['median_abs_d_significant']:.2f}" for x in rows]),
        Column("max\nabs(d)", [f"{x['max_abs_d']:.2f}" for x in rows]),
        Column("strongest units", [x["top_units"].replace(",", ", ") for x in rows], wrap=True),
    ]
    if any(x.get("n_dead") is not None for x in rows):
        dead = ["—" if x.get("n_dead") is None else str(x["n_dead"]) for x in rows]
        columns.insert(3, Column("dead\nunits", dead))
    return [_table(columns)]


def _unseen_layers(table: Table, width: int) -> list[RenderableType]:
    name, rows = table.name, table.rows

    def shares(x: Mapping[str, Any], key: str) -> str:
        return ", ".join(f"{name(c)}: {percent(share_of(x[key], c))}" for c in table.trained)

    columns = [
        Column("layer", [x["layer"] for x in rows]),
        Column("closest signature", [shares(x, "closest_signature") for x in rows], wrap=True),
        Column("in clusters of", [shares(x, "cluster_of") for x in rows], wrap=True),
        Column("outlier", [percent(share_of(x["cluster_of"], "outlier")) for x in rows]),
    ]
    return [_table(columns)]


def short_names(methods: Sequence[str]) -> dict[str, str]:
    """Each novelty method's short name (``mahalanobis:fc1`` → ``maha fc1``); a name two
    methods would share is left whole, so every name stays distinct."""
    short = {
        m: " ".join(_WORDS.get(w, (w,))[0] for part in m.split(":") for w in part.split("_"))
        for m in methods
    }
    taken = list(short.values())
    return {m: s if taken.count(s) == 1 else m for m, s in short.items()}


def _bare(x: float, signed: bool = False) -> str:
    """``.944`` for 0.944, ``+.193`` signed; 1 and more keep their leading digit."""
    text = f"{x:+.3f}" if signed else f"{x:.3f}"
    return text.replace("0.", ".", 1) if abs(x) < 1 else text


def interval(m: Mapping[str, Any], value: str, low: str, high: str) -> str:
    """``0.965 [.944–.982]`` (the value alone when no interval was computed)."""
    if m.get(value) is None:
        return "—"
    if m.get(low) is None or m.get(high) is None:
        return f"{m[value]:.3f}"
    return f"{m[value]:.3f} [{_bare(m[low])}–{_bare(m[high])}]"


def _difference(m: Mapping[str, Any]) -> str:
    """``+0.251 [+.193, +.310]``: our AUROC minus the method's, with its interval."""
    if m.get("auroc_difference") is None:
        return "—"
    low, high = m.get("auroc_difference_low"), m.get("auroc_difference_high")
    if low is None or high is None:
        return f"{m['auroc_difference']:+.3f}"
    return f"{m['auroc_difference']:+.3f} [{_bare(low, True)}, {_bare(high, True)}]"


def _novelty(table: Table, width: int) -> list[RenderableType]:
    rows = table.rows
    short = short_names([m["method"] for m in rows])
    full: dict[str, str] = {m["method"]: m["method"] for m in rows}
    auroc = Column("AUROC", [interval(m, "auroc", "auroc_low", "auroc_high") for m in rows])
    fpr = Column(
        "FPR at\n95 % TPR", [interval(m, "fpr_at_95_tpr", "fpr_low", "fpr_high") for m in rows]
    )
    differ = Column("ours − it\n(AUROC)", [_difference(m) for m in rows])
    kind = Column("kind", [m["kind"] for m in rows])
    note = Column("note", [m["note"] or "" for m in rows], wrap=True)
    layouts: list[tuple[dict[str, str], list[Column], Callable[[Mapping[str, Any]], str]]] = [
        (full, [kind, auroc, fpr, differ, note], lambda m: ""),
        (short, [kind, auroc, fpr, differ], lambda m: m["note"] or ""),
        (short, [auroc, fpr, differ], _kind_and_note),
        (short, [auroc, fpr], _kind_and_note),
        (short, [auroc], _kind_and_note),
    ]
    for names, columns, footnote in layouts:
        notes = [footnote(m) for m in rows]
        marks = _marks(notes)
        method = Column(
            "method", [names[m["method"]] + mark for m, mark in zip(rows, marks, strict=True)]
        )
        if _fits([method, *columns], width) or columns == layouts[-1][1]:
            break
    parts: list[RenderableType] = [_table([method, *columns])]
    lines = [f"{mark.strip()} {n}" for mark, n in zip(marks, notes, strict=True) if n]
    if kind not in columns:
        lines.append("Unmarked rows are baselines.")
    if differ not in columns:
        lines.append("Not shown at this width: ours − it (our AUROC minus the method's).")
    if names is short and any(short[m] != m for m in short):
        lines.append(_legend(short))
    return [*parts, *(Text(line) for line in lines)]


def _kind_and_note(m: Mapping[str, Any]) -> str:
    """A row's footnote when the table has no kind column: its kind unless a baseline, its note."""
    if m["kind"] == "ours":
        return "our novelty score" + (f": {m['note']}" if m["note"] else "")
    if m["kind"] == "baseline":
        return m["note"] or ""
    return f"{m['kind']}: {m['note']}" if m["note"] else m["kind"]


def _marks(notes: list[str]) -> list[str]:
    """`` ¹``, `` ²``, … for the rows with a footnote, in order; ``""`` for the others."""
    marks, n = [], 0
    for note in notes:
        n += bool(note)
        marks.append(f" {str(n).translate(_SUPERSCRIPT)}" if note else "")
    return marks


def _legend(short: Mapping[str, str]) -> str:
    used = {w for m, s in short.items() if s != m for w in s.split()}
    words = ", ".join(f"{a} = {said}" for a, said in _WORDS.values() if a in used)
    return f"Short names: {words}; a layer after a name: the layer the score reads."


_TABLES: dict[str, Callable[[Table, int], list[RenderableType]]] = {
    "curve": _curve,
    "units": _units,
    "unseen_layers": _unseen_layers,
    "novelty": _novelty,
}
