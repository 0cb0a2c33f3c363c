"""A plugin that exits at import (``sys.exit(3)``) is reported as broken, as a plugin that raises is: ``--help``,
``rsbench plugins`` and ``rsbench list`` work, and a command that needs the registries says which plugin to fix or
disable."""

from __future__ import annotations

import json

EXITS = """
    import sys

    sys.exit(3)
"""


def test_a_plugin_that_exits_at_import_is_broken_and_the_commands_still_work(cli, plugin_site):
    site = plugin_site("quitter", EXITS)
    out = cli("plugins", "--json", site=site)
    assert out.returncode == 0, out.output
    shown = {p["name"]: p for p in json.loads(out.stdout)}
    assert shown["quitter"]["status"] == "broken" and "sys.exit(3)" in shown["quitter"]["problems"][0]
    assert shown["rsbench.builtin"]["status"] == "ok"
    helped = cli("--help", site=site)
    assert helped.returncode == 0 and "run" in helped.stdout
    stopped = cli("run", "--print-config", site=site)
    assert stopped.returncode == 2 and len(stopped.stderr.strip().splitlines()) == 1
    assert "plugin 'quitter' is broken: exited at import" in stopped.stderr and "sys.exit(3)" in stopped.stderr
    assert "RSBENCH_DISABLE_PLUGINS=quitter" in stopped.stderr
    listed = cli("list", "adapter", "--json", site=site)  # lists what works; a warning names the plugin left out
    assert listed.returncode == 0 and "focus" in listed.stdout and "plugin 'quitter' is broken" in listed.stderr
    disabled = cli("list", "adapter", "--json", site=site, env={"RSBENCH_DISABLE_PLUGINS": "quitter"})
    assert disabled.returncode == 0 and "focus" in disabled.stdout
