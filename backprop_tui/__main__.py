"""``python -m backprop_tui`` — the same as the ``backprop-tui`` command."""

from .cli import main

main()
