"""Test-run wide settings: no network, and a count of the docs blocks that ran.

Sockets are blocked for the whole run by pytest-socket (``--disable-socket`` in
pyproject.toml); ``tests/test_network_block.py`` proves it. Unix sockets stay
allowed: they never leave the machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


BLOCK_GOAL_S = 30.0  # every docs block under 30 s on 2 cores, the cache warm


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
        # a measurement, not a test: timings depend on the machine and its load
        slowest = sorted(passed + failed, key=lambda r: r.duration, reverse=True)[:3]
        over = [r for r in passed + failed if r.duration > BLOCK_GOAL_S]
        terminalreporter.write_line(
            "docs: slowest blocks "
            + ", ".join(f"{r.nodeid} {r.duration:.1f} s" for r in slowest)
            + f"; {len(over)} over {BLOCK_GOAL_S:.0f} s"
        )
