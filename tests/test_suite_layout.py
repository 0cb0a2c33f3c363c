"""The test suite itself: `pytest tests benchmarks` must collect both folders in one run; the all-pairs selection
that the default run trains covers every pair of components; the default run leaves out `matrix` and `slow`."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_module_imports_a_conftest_by_name():
    # Several folders have a conftest.py; `from conftest import X` resolves to whichever pytest imported first,
    # so shared values live in fixtures or in the test module itself.
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"^\s*(from conftest import|import conftest)", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []


@pytest.mark.parametrize("sizes", [(10, 2, 4, 4, 5, 6), (9, 2, 3, 3, 4, 5), (3, 3, 3, 3), (2, 7), (4,), ()])
def test_all_pairs_covers_every_pair_of_every_two_factors_in_few_rows(all_pairs, sizes):
    factors = [[f"{chr(97 + k)}{v}" for v in range(n)] for k, n in enumerate(sizes)]
    rows = all_pairs(*factors)
    assert all(len(row) == len(factors) and all(v in f for v, f in zip(row, factors, strict=True)) for row in rows)
    for i, j in itertools.combinations(range(len(factors)), 2):
        assert {(row[i], row[j]) for row in rows} == set(itertools.product(factors[i], factors[j])), (i, j)
    if len(sizes) < 2:
        assert sorted(rows) == sorted(itertools.product(*factors))  # no pairs: each value once
    else:
        largest = sorted(sizes)[-1] * sorted(sizes)[-2]  # no covering array has fewer rows than this
        assert largest <= len(rows) <= 1.4 * largest  # greedy, not optimal: 3^4 takes 12 rows, not 9
    assert all_pairs(*factors) == rows  # deterministic: the same tests every run


def test_the_default_run_leaves_out_matrix_and_slow_and_ci_runs_them():
    pyproject = (ROOT / "pyproject.toml").read_text()  # (tomllib is not in Python 3.10)
    assert re.search(r"""^addopts = ".*-m 'not matrix and not slow'""", pyproject, re.MULTILINE)
    for marker in ("slow", "matrix", "combinations(factors, matrix=rows)"):
        assert f'    "{marker}: ' in pyproject, marker
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^pytest -q +#", readme, re.MULTILINE)  # the README's second command, run by CI as it is
    assert commands.index("pytest -q") < commands.index('python -m pytest -q -m "matrix or slow"')
