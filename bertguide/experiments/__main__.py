"""``python -m bertguide.experiments``: the same as ``bertguide experiments``."""

import sys

from bertguide.cli import main

sys.exit(main(["experiments", *sys.argv[1:]]))
