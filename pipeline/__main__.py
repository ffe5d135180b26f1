"""``python -m pipeline`` is the ``loom`` command."""

from pipeline.cli import main

main()
