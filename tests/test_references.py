"""The References page lists every paper the site links: no arXiv or ACL link is missing.

A page that cites a paper by its arXiv or ACL Anthology address must find the same
address on ``docs/references.md``; the check reads every Markdown page and notebook.
Each entry's "cited by" pages are checked against the chapters too: every chapter that
links the paper is named, and every chapter named links it, names it, or (marked
"history table") takes it from ``bertguide/figures/history.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
REFERENCES = DOCS / "references.md"
# arXiv abstracts and PDFs (any version) and ACL Anthology papers, with or without a slash
_LINK = re.compile(
    r"https?://(?:www\.)?(?:arxiv\.org/(?:abs|pdf)/(?P<arxiv>\d{4}\.\d{4,5})(?:v\d+)?"
    r"|aclanthology\.org/(?P<acl>[\w.-]+?))(?:\.pdf)?/?(?=[\s)\]>\"'#]|$)"
)


def paper_links(text: str) -> set[str]:
    """Every arXiv id and ACL Anthology id linked in ``text``, as 'arxiv:ID' / 'acl:ID'."""
    found = set()
    for match in _LINK.finditer(text):
        if match.group("arxiv"):
            found.add(f"arxiv:{match.group('arxiv')}")
        else:
            found.add(f"acl:{match.group('acl')}")
    return found


def test_paper_links_reads_both_kinds_and_their_variants():
    text = (
        "[a](https://arxiv.org/abs/1706.03762) [b](http://arxiv.org/pdf/1810.04805v2) "
        "[c](https://aclanthology.org/N19-1423/) https://aclanthology.org/2020.tacl-1.5.pdf "
        "[d](https://example.org/1706.03762)"
    )
    assert paper_links(text) == {
        "arxiv:1706.03762", "arxiv:1810.04805", "acl:N19-1423", "acl:2020.tacl-1.5"
    }  # fmt: skip


def _pages() -> list[Path]:
    pages = sorted(DOCS.rglob("*.md")) + sorted(DOCS.rglob("*.ipynb"))
    return [p for p in pages if p != REFERENCES and "figures" not in p.parts]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_paper_a_page_links_is_on_the_references_page(page: Path):
    listed = paper_links(REFERENCES.read_text(encoding="utf-8"))
    missing = paper_links(page.read_text(encoding="utf-8")) - listed
    assert not missing, f"{page.name} links papers that docs/references.md lacks: {missing}"


def test_the_references_page_is_in_alphabetical_order():
    """By the first author's surname, then by year."""
    text = REFERENCES.read_text(encoding="utf-8")
    entries = re.findall(r"^- ([^,&(]+?)\b[^(]*\((\d{4})\)", text, re.MULTILINE)
    assert len(entries) >= 40
    keys = [(surname.strip().lower(), int(year)) for surname, year in entries]
    assert keys == sorted(keys)


# --- the "cited by" column ----------------------------------------------------------------

_PAGE_LINK = re.compile(r"\]\(([\w-]+\.md)\)(?P<table> \(history table\))?")
_URL = re.compile(r"\]\((https?://[^)\s]+)\)")


def _entries() -> list[str]:
    """The References page's entries, one string each (its lines joined)."""
    text = REFERENCES.read_text(encoding="utf-8")
    return ["- " + e for e in re.split(r"\n- ", text.split("\n- ", 1)[1])]


def _names(entry: str) -> list[str]:
    """What a page may call the work without linking it: the first author's surname,
    and the short names in brackets after the title ("(GPT-3)", "(SQuAD)")."""
    surname = re.match(r"- (.+?)(?: et al\.)?\s*[,&(]", entry).group(1)
    short = re.findall(r"\*\s*\(([^)]+)\)", entry)
    return [surname, *short]


def _cites(page_text: str, entry: str) -> bool:
    """Whether a page links one of the entry's addresses."""
    ids = paper_links(entry)
    urls = [u for u in _URL.findall(entry) if not u.endswith(".md")]
    return bool(ids & paper_links(page_text)) or any(u in page_text for u in urls)


def _chapters() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))
            if p != REFERENCES}  # fmt: skip


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e[2:40])
def test_each_entry_names_exactly_the_pages_that_cite_it(entry: str):
    """Every page that links the paper is named; every page named links it, names it
    (its first author or its short name), or takes it from the GPT history table."""
    chapters = _chapters()
    named = {m.group(1): bool(m.group("table")) for m in _PAGE_LINK.finditer(entry)}
    linking = {name for name, text in chapters.items() if _cites(text, entry)}
    if "Every chapter" not in entry:
        missing = linking - set(named)
        assert not missing, f"pages that link it but are not named: {sorted(missing)}"
    history = (DOCS.parent / "bertguide" / "figures" / "history.py").read_text(encoding="utf-8")
    for page, from_table in named.items():
        assert page in chapters, f"names a page that does not exist: {page}"
        if page in linking:
            continue
        text = chapters[page]
        by_name = any(
            re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
            for name in _names(entry)
        )
        from_history = from_table and any(u in history for u in _URL.findall(entry))
        assert by_name or from_history, f"{page} neither links, names nor tabulates it"


def test_the_cited_by_check_reads_names_and_links():
    entry = (
        "- Brown et al. (2020). *Language Models are Few-Shot Learners* (GPT-3). "
        "[arXiv:2005.14165](https://arxiv.org/abs/2005.14165). [GPT](gpt.md)"
    )
    assert _names(entry) == ["Brown", "GPT-3"]
    assert _cites("see [it](https://arxiv.org/abs/2005.14165)", entry)
    assert not _cites("GPT-3 is large", entry)
    assert _names("- Tjong Kim Sang & De Meulder (2003). *T* (CoNLL-2003).")[0] == (
        "Tjong Kim Sang"
    )
