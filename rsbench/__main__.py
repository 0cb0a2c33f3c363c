"""``python -m rsbench`` is the ``rsbench`` command."""

from rsbench.cli import main

main()
