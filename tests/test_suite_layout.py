"""The test suite itself: `pytest tests benchmarks` must collect both folders in one run."""

from __future__ import annotations

import re
from pathlib import Path

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
