"""The report as Markdown (the run's ``report.md``): its sentences, and its tables in full as
Markdown tables, for viewers that scroll sideways."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pathways.analysis.report_text import Table, percent, report_blocks, share_of, with_interval


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: per model, the three questions answered in sentences and tables."""
    lines: list[str] = []
    for block in report_blocks(report):
        lines += _table(block) if isinstance(block, Table) else [block]
    return "\n".join(lines)


def _table(table: Table) -> list[str]:
    header, rows = _TABLES[table.kind](table)
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _optional(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _curve(table: Table) -> tuple[list[str], list[list[str]]]:
    header = [
        "layer", "probe accuracy", "signature distance", "cluster purity", "NMI",
        "CKA with input", "CKA with logits",
    ]  # fmt: skip
    rows = [
        [
            c["layer"],
            f"{c['probe_accuracy']:.3f}",
            f"{c['signature_distance']:.2f}",
            _optional(c["cluster_purity"], 3),
            _optional(c["nmi"], 3),
            f"{c['cka_input']:.2f}",
            f"{c['cka_logits']:.2f}",
        ]
        for c in table.rows
    ]
    return header, rows


def _units(table: Table) -> tuple[list[str], list[list[str]]]:
    header = [
        "layer", "units differing", "share", "dead units", "median abs(d) of those",
        "max abs(d)", "strongest units",
    ]  # fmt: skip
    rows = [
        [
            x["layer"],
            f"{x['n_significant']} / {x['n_units']}",
            percent(x["share_significant"]),
            "—" if x.get("n_dead") is None else str(x["n_dead"]),
            f"{x['median_abs_d_significant']:.2f}",
            f"{x['max_abs_d']:.2f}",
            x["top_units"],
        ]
        for x in table.rows
    ]
    return header, rows


def _unseen_layers(table: Table) -> tuple[list[str], list[list[str]]]:
    name = table.name
    rows = []
    for x in table.rows:
        sig = ", ".join(
            f"{name(c)}: {percent(share_of(x['closest_signature'], c))}" for c in table.trained
        )
        clu = ", ".join(
            f"{name(c)}: {percent(share_of(x['cluster_of'], c))}" for c in table.trained
        )
        rows.append([x["layer"], sig, clu, percent(share_of(x["cluster_of"], "outlier"))])
    return ["layer", "closest signature", "in clusters of", "outlier"], rows


def _difference(m: Mapping[str, Any]) -> str:
    if m.get("auroc_difference") is None:
        return "—"
    return (
        f"{m['auroc_difference']:+.3f} [{m['auroc_difference_low']:+.3f}, "
        f"{m['auroc_difference_high']:+.3f}]"
    )


def _novelty(table: Table) -> tuple[list[str], list[list[str]]]:
    header = ["method", "kind", "AUROC", "FPR at 95 % TPR", "ours − it (AUROC)", "note"]
    rows = [
        [
            m["method"],
            m["kind"],
            with_interval(m, "auroc", "auroc_low", "auroc_high"),
            with_interval(m, "fpr_at_95_tpr", "fpr_low", "fpr_high"),
            _difference(m),
            m["note"] or "",
        ]
        for m in table.rows
    ]
    return header, rows


_TABLES = {
    "curve": _curve,
    "units": _units,
    "unseen_layers": _unseen_layers,
    "novelty": _novelty,
}
