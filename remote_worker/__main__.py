"""``python -m remote_worker``: same as the ``e2a-worker`` console script."""

import sys

from .cli import main

sys.exit(main())
