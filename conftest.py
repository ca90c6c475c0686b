"""Test-run wide settings: no network, and a count of the docs blocks that ran.

Sockets are blocked for the whole run by pytest-socket (``--disable-socket`` in
pyproject.toml); ``tests/test_network_block.py`` proves it. Unix sockets stay
allowed: they never leave the machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _is_docs_item(report) -> bool:
    return report.nodeid.startswith("docs/") and report.when == "call"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    stats = terminalreporter.stats
    passed = [r for r in stats.get("passed", []) if _is_docs_item(r)]
    failed = [r for r in stats.get("failed", []) if _is_docs_item(r)]
    skipped = [r for r in stats.get("skipped", []) if r.nodeid.startswith("docs/")]
    pages = {r.nodeid.split("::")[0] for r in passed + failed + skipped}
    if pages:
        terminalreporter.write_sep(
            "-",
            f"docs: {len(passed)} blocks executed and passed, {len(failed)} failed, "
            f"{len(skipped)} skipped with a reason, on {len(pages)} pages",
        )
