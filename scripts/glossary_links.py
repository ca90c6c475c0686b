"""Each page links the first use of a glossary term to its entry (mkdocs.yml ``hooks:``).

docs/glossary.md gives every term an anchor, and the terms worth a link the words that
name them::

    Softmax { #softmax data-link="softmax" }
    :   Turns scores into probabilities ...

On every other Markdown page, the first time one of those words appears in running
text (a paragraph, a list item, a table cell; not a heading, a link, code, maths or a
figure) it becomes a link to ``glossary/#softmax``, once per page and term. A word
with a capital letter ("NSP", "ALBERT") matches as written; a lower-case one in any
case. The API reference and the notebooks are left as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString

GLOSSARY = "glossary.md"
ENTRY = re.compile(
    r'^(?P<term>\S.*?) \{ #(?P<id>[\w-]+)(?: data-link="(?P<forms>[^"]+)")? \}$', re.M
)
# where a term is not linked: it is a link, code, maths, a heading, a figure or a control
SKIP = {
    "a",
    "code",
    "pre",
    "kbd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "figure",
    "figcaption",
    "script",
    "style",
    "svg",
    "button",
    "label",
    "select",
    "textarea",
    "dt",
    "summary",
}
SKIP_CLASSES = {"arithmatex", "katex", "bertguide-take-away", "bg-figure", "admonition-title"}
TEXT = {"p", "li", "td", "dd", "blockquote"}


def glossary_terms(docs_dir: Path) -> list[tuple[str, re.Pattern]]:
    """(anchor, pattern of the words that name it) for each term with a ``data-link``."""
    source = (Path(docs_dir) / GLOSSARY).read_text(encoding="utf-8")
    terms = []
    for entry in ENTRY.finditer(source):
        if not entry["forms"]:
            continue
        forms = sorted(entry["forms"].split("|"), key=len, reverse=True)  # longest first
        exact = [re.escape(f) for f in forms if f != f.lower()]
        folded = [re.escape(f) for f in forms if f == f.lower()]
        parts = []
        if exact:
            parts.append("(?:" + "|".join(exact) + ")")
        if folded:
            parts.append("(?i:" + "|".join(folded) + ")")
        pattern = re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])")
        terms.append((entry["id"], pattern))
    return terms


def _skipped(node) -> bool:
    for parent in node.parents:
        if parent.name in SKIP:
            return True
        if SKIP_CLASSES & set(parent.get("class") or ()):
            return True
    return False


def _in_running_text(node) -> bool:
    return any(parent.name in TEXT for parent in node.parents)


def link_terms(html: str, terms, glossary_url: str) -> str:
    """``html`` with the first use of each term linked to ``glossary_url#anchor``."""
    if not terms:
        return html
    soup = BeautifulSoup(html, "html.parser")
    todo = dict(terms)
    for text in list(soup.find_all(string=True)):
        if not todo:
            break
        if type(text) is not NavigableString or not text.strip():
            continue
        if _skipped(text) or not _in_running_text(text):
            continue
        # the earliest term in this text node, linked; the rest of the node is looked at
        # again, for the other terms
        node = text
        while node is not None and todo:
            found = [
                (m.start(), -len(m[0]), anchor, m)
                for anchor, p in todo.items()
                if (m := p.search(str(node)))
            ]
            if not found:
                break
            _, _, anchor, match = min(found)
            del todo[anchor]
            value = str(node)
            link = soup.new_tag("a", href=f"{glossary_url}#{anchor}")
            link["class"] = "bg-term"
            link["title"] = "In the glossary"
            link.string = match[0]
            after = NavigableString(value[match.end() :])
            node.replace_with(NavigableString(value[: match.start()]), link, after)
            node = after
    return str(soup)


_TERMS: list[tuple[str, re.Pattern]] = []  # read once a build, by on_config


def on_config(config):
    _TERMS[:] = glossary_terms(config.docs_dir)
    return config


def on_page_content(html, page, config, files):
    source = page.file.src_uri
    if source == GLOSSARY or source.startswith("api/") or not source.endswith(".md"):
        return html
    up = "../" * page.url.count("/")  # from the page's folder to the site's root
    return link_terms(html, _TERMS, f"{up}glossary/")
