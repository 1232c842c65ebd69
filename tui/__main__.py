"""``python -m tui`` is ``e2a-tui``."""

from .cli import main

main()
