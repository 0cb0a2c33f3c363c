"""The atomic-write helper: a file or folder appears whole or not at all, a failed or interrupted write leaves
nothing, and the temporary of a write that was killed outright is removed by the next write in its folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from rsbench import atomic
from rsbench.atomic import atomic_path, remove_stale_temps, temp_sibling, write_atomically, write_text_atomically
from rsbench.errors import RsbenchError


def test_a_write_replaces_the_file_whole_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "a.json"
    write_text_atomically(target, "old")
    write_text_atomically(target, "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["a.json"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_write_keeps_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "a.json"
    target.write_text("old")

    def half(handle):
        handle.write(b"half of the new")
        raise error

    with pytest.raises(RsbenchError if isinstance(error, OSError) else KeyboardInterrupt):
        write_atomically(target, half)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["a.json"]


def test_without_overwrite_an_existing_file_is_refused_untouched(tmp_path):
    target = tmp_path / "record.json"
    target.write_text("first")
    with pytest.raises(RsbenchError, match="never overwritten"):
        write_text_atomically(target, "second", overwrite=False)
    assert target.read_text() == "first" and os.listdir(tmp_path) == ["record.json"]


def test_a_folder_appears_whole_or_is_removed(tmp_path):
    with atomic_path(tmp_path / "model", folder=True) as temp:
        (temp / "weights").write_text("w")
    assert (tmp_path / "model" / "weights").read_text() == "w"
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "other", folder=True) as temp:
        (temp / "weights").write_text("w")
        raise KeyboardInterrupt
    assert sorted(os.listdir(tmp_path)) == ["model"]


def test_the_temporary_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    # A real process opens its temporary, writes half, and is killed with SIGKILL: no cleanup of its own runs.
    script = textwrap.dedent(f"""
        import sys, time
        from rsbench.atomic import write_atomically
        def stall(handle):
            handle.write(b"half a record")
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
        write_atomically(__import__("pathlib").Path({str(tmp_path / "r.json")!r}), stall)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert child.stdout.readline().strip() == "writing"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    left = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".r.json.")  # what the kill left
    write_text_atomically(tmp_path / "other.json", "{}")
    assert sorted(os.listdir(tmp_path)) == ["other.json"]


def test_a_live_writers_temporary_and_other_hosts_are_left_alone(tmp_path):
    mine = temp_sibling(tmp_path / "a.json")  # this process is alive
    mine.write_text("in progress")
    foreign = tmp_path / ".b.json.otherhost-1-0123abcd.tmp"  # another machine's writer on a shared disk
    foreign.write_text("in progress")
    assert remove_stale_temps(tmp_path) == []
    assert mine.exists() and foreign.exists()
    assert atomic._HOST != "otherhost"
