"""``python -m assist.cli``: the same as the ``assist`` command."""

import sys

from . import main

sys.exit(main())
