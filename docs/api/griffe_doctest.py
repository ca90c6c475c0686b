"""Show the docstrings' doctest examples as code on the API reference pages.

The package's docstrings give their examples as bare ``>>>`` lines (doctest runs them,
see ``tests/test_api_docs.py``). Markdown would read them as prose: ``[6, 12, 6, 6]``
looks like a link, ``*`` like emphasis. This Griffe extension wraps every run of ``>>>``
lines, with the output lines that follow it, in a fenced ``pycon`` block before
mkdocstrings renders the docstring. Runs already inside a fence are left alone.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    r"""Wrap each run of ``>>>`` lines (up to the next blank line) in a pycon fence.

    >>> fence_doctests("Sum:\n>>> 1 + 1\n2\n\nDone.").split("\n")
    ['Sum:', '```pycon', '>>> 1 + 1', '2', '```', '', 'Done.']
    """
    out: list[str] = []
    in_fence = in_example = False
    indent = ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        if in_example:
            if stripped:
                out.append(line)
                continue
            out.append(indent + "```")
            in_example = False
        if stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(indent + "```pycon")
            in_example = True
        out.append(line)
    if in_example:
        out.append(indent + "```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctest examples of every documented object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
