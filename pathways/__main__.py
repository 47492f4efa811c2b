"""``python -m pathways``: the same as the ``pathways`` command."""

from pathways.cli import main

main()
