"""Every CMER equation the code cites exists and is about what the citing text is about (docs/cmer-equations.md).

A module is about CMER when its text says "CMER"; there every ``Eq. N`` (``Eq. (N)``, ``Eq. 16-18``,
``Eq. (16) / (17)``) is a CMER citation. Elsewhere only ``CMER Eq. N`` is (csls.py cites Conneau et al.'s Eq. 6).
The citing line and the two lines on either side must use a keyword of the cited equation (of any, for a range).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "cmer-equations.md"
CONTEXT_LINES = 2

# "Eq. 14", "Eq. (16)", "Eq. 16-18", "Eq. (16)-(17)", "Eq. (16) / (17)", "Eqs. 19 and 20"
CITATION = re.compile(r"Eqs?\.\s*\(?(\d+)\)?((?:\s*(?:-|–|/|,|and)\s*\(?\d+\)?)*)")


def equation_table(text: str) -> dict[int, tuple[str, list[str]]]:
    """``N -> (subject, keywords)`` from the Markdown table of docs/cmer-equations.md."""
    table = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            table[int(cells[0])] = (cells[2], [k.strip() for k in cells[3].split(";") if k.strip()])
    return table


def cited_numbers(match: re.Match) -> list[int]:
    first = int(match.group(1))
    rest = [int(n) for n in re.findall(r"\d+", match.group(2))]
    if rest and re.match(r"\s*(?:-|–)", match.group(2)):  # a range: every number from the first to the last
        return list(range(first, rest[-1] + 1))
    return [first, *rest]


def citations(path: Path) -> list[tuple[int, list[int], str]]:
    """(line number, cited equations, context) of every CMER equation citation in one module."""
    lines = path.read_text(encoding="utf-8").splitlines()
    about_cmer = any("CMER" in line for line in lines)
    found = []
    for i, line in enumerate(lines):
        for match in CITATION.finditer(line):
            if not about_cmer and "CMER" not in line[: match.start()]:
                continue
            context = "\n".join(lines[max(0, i - CONTEXT_LINES): i + CONTEXT_LINES + 1])
            found.append((i + 1, cited_numbers(match), context))
    return found


def problems_in(path: Path, table: dict[int, tuple[str, list[str]]]) -> list[str]:
    problems = []
    for line_no, numbers, context in citations(path):
        where = f"{path.relative_to(ROOT)}:{line_no}"
        unknown = [n for n in numbers if n not in table]
        if unknown:
            problems.append(f"{where} cites Eq. {unknown}, which CMER does not number (docs/cmer-equations.md)")
            continue
        keywords = [k for n in numbers for k in table[n][1]]
        if not any(k.lower() in context.lower() for k in keywords):
            subjects = "; ".join(f"Eq. {n}: {table[n][0]}" for n in numbers)
            problems.append(f"{where} cites {subjects}, but its text uses none of {keywords}")
    return problems


TABLE_ENTRIES = equation_table(TABLE.read_text(encoding="utf-8"))


def test_the_table_numbers_every_equation_of_the_paper():
    assert sorted(TABLE_ENTRIES) == list(range(1, 24))
    assert all(keywords for _, keywords in TABLE_ENTRIES.values())


def test_every_cited_cmer_equation_matches_its_subject():
    modules = sorted((ROOT / "rsbench").rglob("*.py"))
    found = [c for path in modules for c in citations(path)]
    assert len(found) > 30  # the parser sees the code's citations at all
    problems = [p for path in modules for p in problems_in(path, TABLE_ENTRIES)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('"""CMER\'s focus layer."""\nx = 1  # CMER Eq. (12): heads concatenated, plus the residual\n', True),
        ('"""CMER."""\n# the CLS token is merged as in Eq. 15\n', False),  # Eq. 15 is the prompt's embedding
        ('"""CMER."""\n# the hinge of Eq. 16-18 over the queue\n', True),
        ('"""CMER."""\n# mean recall, Eq. (24)\n', False),  # CMER has 23 equations
        ('"""Other paper."""\n# Eq. 6 of Conneau et al.: the hubness correction\n', True),  # not a CMER module
    ],
)
def test_the_check_bites(tmp_path, text, ok):
    path = ROOT / "rsbench" / "_citation_probe.py"  # inside ROOT so relative_to works; removed below
    try:
        path.write_text(text, encoding="utf-8")
        assert (not problems_in(path, TABLE_ENTRIES)) is ok
    finally:
        path.unlink(missing_ok=True)
