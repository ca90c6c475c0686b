"""The site's search serves a learner: a chapter's own terms find that chapter first, and
the excerpts read as prose, without TeX.

The ranking is Material's own: the test types each term into the search box of the
built site in headless Chromium and reads the result list its search worker (lunr, on
``search/search_index.json``) draws, so it checks what a reader gets, not a model of it.
Needs Debian's ``chromium`` and the ``playwright`` package; skips, saying why, without.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

# term -> the page that must come first (the chapter that explains it)
FIRST = {
    "NSP": "pretraining/",
    "next sentence prediction": "pretraining/",
    "masked language model": "pretraining/",
    "KV cache": "gpt/",
    "distillation": "family/",
    "fine-tuning": "finetuning/",
    "WordPiece": "tokenization/",
    "self-attention": "attention/",
    "ELECTRA": "family/",
    "attention mask": "tokenization/",
}
# TeX that KaTeX rendered on the page must not reach the index as source
TEX = re.compile(r"\\(?:frac|sqrt|text|mathrm|operatorname|times|top|qquad|sum|exp|ln|dots)\b")

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.allow_hosts(["127.0.0.1"])]


def test_the_index_holds_no_tex_and_no_tripled_maths(built_site: Path):
    docs = json.loads((built_site / "search" / "search_index.json").read_text("utf-8"))["docs"]
    tex = [(d["location"], m[0]) for d in docs for m in TEX.finditer(d["text"])]
    assert tex == [], tex[:10]
    # KaTeX's MathML and HTML both indexed made "t" read "ttt" and "d_k" read "dkdk"
    gpt = next(d["text"] for d in docs if d["location"] == "gpt/#generating-and-the-keyvalue-cache")
    assert "step t recomputes all t positions" in re.sub(r"\s+", " ", gpt)


def _first_results(page, term: str) -> tuple[list[str], str]:
    """The locations of the first results Material shows for ``term``, and the first
    result's text (where Material lists the query's words it did not find)."""
    page.fill(".md-search__input", term)
    page.press(".md-search__input", "End")  # Material searches on the keyboard's events
    page.wait_for_function(
        """term => {
            const meta = document.querySelector(".md-search-result__meta");
            return meta && !/Type to start|Initializing/.test(meta.textContent)
                && document.querySelector(".md-search__input").value === term;
        }""",
        arg=term,
        timeout=15_000,
    )
    page.wait_for_timeout(150)  # the list is redrawn once per query
    links = page.locator(".md-search-result__item > .md-search-result__link")
    hrefs = links.evaluate_all("as => as.slice(0, 5).map(a => a.getAttribute('href'))")
    first = links.first.inner_text() if links.count() else ""
    return hrefs, first


def test_each_chapter_term_finds_its_chapter_first(site_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site_url}/", wait_until="load")
    page.click(".md-search__input")
    ranked, missing = {}, {}
    for term in FIRST:
        hrefs, first = _first_results(page, term)
        ranked[term] = hrefs
        if "Missing" in first:
            missing[term] = first.split("Missing")[-1].strip()
    page.close()
    wrong = {t: h for t, h in ranked.items() if not h or urlparse(h[0]).path != f"/{FIRST[t]}"}
    assert not wrong, json.dumps(wrong, indent=1)
    assert not missing, missing
