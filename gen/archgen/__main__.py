"""``python -m archgen``: the archgen command."""

import sys

from .cli import main

sys.exit(main())
