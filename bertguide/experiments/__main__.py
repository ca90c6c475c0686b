"""``python -m bertguide.experiments``: the same as ``bertguide experiments``, which
reruns the guide's trained runs and compares them with the results that ship."""

import sys

from bertguide.cli import main

sys.exit(main(["experiments", *sys.argv[1:]]))
