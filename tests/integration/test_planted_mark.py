"""The strategies stage's known answer: a bright mark planted on 30 % of the 7s. A network that
learns to use it gets a strategy of its own for the marked 7s, attending to the mark's corner;
a network that ignores it gets none."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import isolation, mark_effect, named_region, planted_run

from pathways.analysis.strategies_report import strategies_summary, strategy_lines


@pytest.fixture(scope="module")
def mlp_run(mnist, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return planted_run(mnist, tmp_path_factory.mktemp("planted-mlp"), "mlp", 0.3, 0)


def test_a_mark_the_network_uses_gets_a_strategy_of_its_own(mlp_run: dict, mnist) -> None:
    assert mark_effect(mlp_run, mnist) > 0.1  # the MLP learned the shortcut
    found = isolation(mlp_run)
    assert found["marked"] >= 40
    assert found["purity"] >= 0.9 and found["recall"] >= 0.9, found
    assert named_region(mlp_run, found["strategy"]) == "lower-left corner"
    # checked on the network: blacking out what the strategy's maps point to costs its 7s more
    table = mlp_run["strategies"]["strategies"]
    row = table[(table["class"] == 7) & (table["strategy"] == found["strategy"])].iloc[0]
    assert row["masked_gap_low"] > 0 and row["masked_drop"] > row["masked_drop_elsewhere"]


def test_the_report_names_the_marks_strategy_and_corner(mlp_run: dict) -> None:
    found = isolation(mlp_run)
    lines = strategy_lines(strategies_summary(mlp_run["strategies"]), str)
    start = next(i for i, x in enumerate(lines) if x.startswith("- **7** is recognised by **"))
    block = lines[start : lines.index("", start)]
    (line,) = [x for x in block if x.strip().startswith(f"- strategy {found['strategy']},")]
    assert "lower-left corner" in line
    share = 100 * found["marked"] / found["purity"] / 200
    assert f"{share:.0f} % of 7s" in line
    assert "Checked by blacking out" in line and "matter more to this strategy" in line


def test_a_mark_the_network_ignores_gets_no_strategy(mnist, tmp_path: Path) -> None:
    run = planted_run(mnist, tmp_path, "lenet5", 0.3, 0)
    assert mark_effect(run, mnist) < 0.1  # LeNet-5 reads the digit, not the corner
    assert isolation(run)["purity"] < 0.5  # no strategy gathers the marked 7s
