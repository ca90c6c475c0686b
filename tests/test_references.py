"""The References page lists every paper the site links: no arXiv or ACL link is missing.

A page that cites a paper by its arXiv or ACL Anthology address must find the same
address on ``docs/references.md``; the check reads every Markdown page and notebook.
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
