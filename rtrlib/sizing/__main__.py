"""``python -m rtrlib.sizing MIXTURE.json --width N [--json]`` (see :mod:`rtrlib.sizing.cli`)."""

import sys

from rtrlib.sizing.cli import main

sys.exit(main())
