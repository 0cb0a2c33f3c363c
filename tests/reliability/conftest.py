"""Running the real ``rsbench`` command in a subprocess, in a folder of its own, and reading what it left."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    """What one ``rsbench`` invocation did: exit status, output, and files it created or removed."""

    returncode: int
    stdout: str
    stderr: str
    created: set[str]
    removed: set[str]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def error_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("error:")]

    def message(self) -> str:
        """The error line with rich's soft wrapping undone (for substring checks)."""
        return " ".join(" ".join(self.error_lines()).split())


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def cli(tmp_path, rsbench_cache):
    """``cli(*argv, env=..., site=...)`` runs ``python -m rsbench`` with ``tmp_path/work`` as working folder.

    ``site`` is put first on PYTHONPATH (fake plugin distributions); default outputs
    (``leaderboard/results``, ``checkpoints``) would land in the working folder, whose files are
    compared before and after.
    """
    work = tmp_path / "work"
    work.mkdir()

    def run(*argv: str, env: dict[str, str] | None = None, site: Path | None = None,
            timeout: float = 300) -> Outcome:
        paths = [str(site)] if site else []
        full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(REPO)]), "RSBENCH_CACHE":
                    str(rsbench_cache), "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        before = files_under(tmp_path)
        done = subprocess.run([sys.executable, "-m", "rsbench", *argv], capture_output=True, text=True,
                              env=full_env, cwd=work, timeout=timeout)
        after = files_under(tmp_path)
        return Outcome(done.returncode, done.stdout, done.stderr, after - before, before - after)

    run.work = work
    return run


@pytest.fixture
def plugin_site(tmp_path) -> Callable[..., Path]:
    """``plugin_site(name, source, version="0.1")`` installs a fake plugin in ``tmp_path/site`` and returns it."""

    def install(name: str, module_source: str, version: str = "0.1") -> Path:
        site = tmp_path / "site"
        fake_dist(site, name, module_source, version)
        return site

    return install


def fake_dist(site: Path, name: str, module_source: str, version: str = "0.1") -> None:
    """A minimal installed distribution: a module plus dist-info with an ``rsbench`` entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[rsbench]\n{name} = {name}\n")
