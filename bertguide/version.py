"""The package's version, written in this one place.

The wheel and the sdist take it from here (``pyproject.toml`` reads it without
importing the package), and so do ``bertguide.__version__``, ``bertguide info``, the
site's footer and the chapters' notebooks, whose first cell installs exactly this
version. A release changes it here, adds its entry to ``CHANGELOG.md`` and is tagged
``v`` + this version; ``tests/test_version.py`` fails when any of them disagree.
"""

__version__ = "0.1.0"
