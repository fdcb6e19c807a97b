"""``python -m rtrlib.book``: the runner's command line."""

import sys

from rtrlib.book.cli import main

sys.exit(main())
