"""The terminal leaderboard reads at 80 columns and in a pipe: every method label whole, the less important
columns left out first and named, with where the full table is."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rsbench.results.display import fitting_columns, render_leaderboard
from rsbench.results.leaderboard import leaderboard

LONG_METHODS = [
    {"adapter": {"name": "focus"}, "sampler": {"name": "queue"}, "augmenter": {"name": "rich-caption"},
     "strategy": {"name": "text-to-text"}, "captioner": {"name": "oracle"}},
    {"adapter": {"name": "clip-adapter"}, "strategy": {"name": "fast-then-fine"}, "reranker": {"name": "qb-norm"}},
    {"adapter": {"name": "linear-probe"}},
]


@pytest.fixture
def board(build_record):
    return leaderboard([build_record(seed=s, config_changes=c, mR=40.0 + 3 * i + s)
                        for i, c in enumerate(LONG_METHODS) for s in (0, 1)])


def render(df, width: int) -> str:
    out = io.StringIO()
    render_leaderboard(df, Console(file=out, width=width), markdown="leaderboard/leaderboard.md")
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 60])
def test_every_method_label_is_whole_in_a_narrow_terminal(board, width):
    text = render(board, width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines if "│" in line or "┃" in line)  # the table fits the width
    assert len(board["method"].unique()) == 3
    for method in board["method"]:
        assert any(method in line for line in lines), (method, text)
    if width == 80:
        assert "40.50 ± 0.71" in text  # the key figure stays beside its method
    assert "columns left out to fit" in " ".join(text.split()) and "leaderboard/leaderboard.md" in text


def test_a_wide_terminal_shows_every_column_and_says_nothing_is_left_out(board):
    text = render(board, 400)
    assert "left out" not in text
    for header in ("Epochs", "LR", "Dataset", "Backbone", "n", "t2i R@10", "Selected on", "rsbench-tiny (random init)"):
        assert header in text


def test_columns_are_dropped_from_the_least_important_and_method_is_always_kept():
    widths = {"Method": 70, "mR": 12, "n": 1, "Epochs": 6, "Backbone": 20}
    assert fitting_columns(widths, 80) == ["Method"]  # 74 of 80 taken: mR (15 more) does not fit, nor then n
    assert fitting_columns(widths, 101) == ["Method", "mR", "n"]  # 1 + 73 + 15 + 4 = 93; Epochs needs 9
    assert fitting_columns(widths, 102) == ["Method", "mR", "n", "Epochs"]
    assert fitting_columns(widths, 200) == ["Method", "mR", "n", "Epochs", "Backbone"]


def test_the_learning_rate_comes_right_after_the_epochs_and_is_dropped_before_the_backbone(board):
    from rsbench.results.display import LEADERBOARD_PRIORITY, leaderboard_cells

    cells = leaderboard_cells(board)
    keys = cells.pop("__keys__")
    assert keys[keys.index("Epochs") + 1] == "LR" and cells["LR"] == ["0.0001"] * 3
    assert LEADERBOARD_PRIORITY.index("LR") == LEADERBOARD_PRIORITY.index("Epochs") + 1
    widths = {"Method": 70, "mR": 12, "n": 1, "Epochs": 6, "LR": 6, "Backbone": 20}
    assert fitting_columns(widths, 111) == ["Method", "mR", "n", "Epochs", "LR"]  # 102 + 9; Backbone needs 23
