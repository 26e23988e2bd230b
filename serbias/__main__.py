"""``python -m serbias``: the same as the ``serbias`` console script."""

from serbias.cli import main

main()
