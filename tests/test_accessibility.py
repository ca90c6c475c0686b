"""Every page of the built site passes axe-core's WCAG 2.1 A and AA rules, in the light
and the dark scheme: no serious or critical violation.

Two sweeps, as the screenshots look at the site: the light scheme on a 1280 px laptop
and the dark one on a 390 px phone (where tables, formulas and figures scroll and must
take the keyboard's focus).

axe-core is the pinned npm dev dependency (package.json; ``npm ci`` puts it in
node_modules/), injected into each page of the site served from 127.0.0.1 and run on
the whole document. Minor and moderate findings are printed, not failed: they are
worth a look, but they are not what stops a reader.

Needs Debian's ``chromium``, the ``playwright`` package and ``npm ci``; skips, saying
why, without them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browsing import site_pages

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("serious", "critical")
SCHEMES = {"light": "default", "dark": "slate"}  # Material's name of each scheme

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]

RUN = """async tags => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


def audit(browser, url: str, pages: list[str], scheme: str, width: int) -> dict[str, list[dict]]:
    """{page: axe's violations} for ``pages`` of the site at ``url`` in ``scheme``, in a
    window ``width`` px wide."""
    if not AXE.is_file():
        pytest.skip(f"no {AXE.relative_to(ROOT)}: run `npm ci` (axe-core is a dev dependency)")
    source = AXE.read_text(encoding="utf-8")
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
    page = context.new_page()
    found = {}
    for path in pages:
        page.goto(f"{url}{path}", wait_until="load")
        # the scheme the reader's system asks for is the one Material shows
        shown = page.evaluate("() => document.body.dataset.mdColorScheme")
        assert shown == SCHEMES[scheme], (path, shown)
        page.add_script_tag(content=source)
        found[path] = page.evaluate(RUN, TAGS)
    context.close()
    return found


def report(found: dict[str, list[dict]], impacts) -> list[str]:
    lines = []
    for path, violations in found.items():
        for v in violations:
            if v["impact"] in impacts:
                targets = ", ".join(n["target"] for n in v["nodes"][:4])
                more = f" (+{len(v['nodes']) - 4} more)" if len(v["nodes"]) > 4 else ""
                lines.append(
                    f"{path}: {v['impact']} {v['id']} on {len(v['nodes'])} element(s): "
                    f"{v['help']} -- {targets}{more}"
                )
    return lines


@pytest.mark.parametrize(("scheme", "width"), [("light", 1280), ("dark", 390)])
def test_no_page_has_a_serious_or_critical_wcag_violation(
    built_site, site_url, browser, scheme, width
):
    found = audit(browser, site_url, site_pages(built_site), scheme, width)
    assert len(found) >= 20, sorted(found)
    counts = {
        impact: sum(len(v["nodes"]) for vs in found.values() for v in vs if v["impact"] == impact)
        for impact in ("minor", "moderate", "serious", "critical")
    }
    print(f"\naxe-core, {scheme}, {width} px, {len(found)} pages: elements by impact {counts}")
    print("\n".join(report(found, ("minor", "moderate"))))
    failing = report(found, FAILING)
    assert not failing, "\n" + "\n".join(failing) + "\n" + json.dumps(counts)
