"""The offline corpora every chapter reads.

The ``gensim`` wheel ships a handful of small, real text collections in its test data
(``gensim.test.utils.datapath``). The guide uses them instead of downloading anything:

=========================  ==============================================================
loader                     what it returns
=========================  ==============================================================
``wikipedia_articles()``   ~100 English Wikipedia articles (``Article(title, text)``),
                           redirects dropped, wiki markup stripped by gensim's
                           ``filter_wiki`` plus bold/italic quotes and ``==`` headings
``wikipedia_lines()``      the non-empty lines of those articles, stripped
``lee_background()``       300 Australian news articles (the Lee background corpus)
``lee_documents()``        the 50 Lee documents that people rated for similarity
``lee_similarities()``     their 50 x 50 human similarity matrix (mean rating in [0, 1])
``polarity()``             200 ``(label, sentence)`` movie-review pairs, label "neg"/"pos"
``simlex999()``            999 ``(word1, word2, score)`` SimLex-999 similarity pairs
=========================  ==============================================================

Each loader parses its file once per process and hands out a fresh list, so callers
may change what they get without spoiling the cache.

Left out: the full Wikipedia dump (the sample stops after ~200 pages), tables,
infoboxes and references (``filter_wiki`` drops them), and any download.
"""

from __future__ import annotations

import bz2
import functools
import re
from typing import NamedTuple

import numpy as np

WIKIPEDIA_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
LEE_BACKGROUND_FILE = "lee_background.cor"
LEE_FILE = "lee.cor"
LEE_SIMILARITIES_FILE = "similarities0-1.txt"
POLARITY_FILE = "pang_lee_polarity.cor"
SIMLEX_FILE = "simlex999.txt"


class Article(NamedTuple):
    title: str
    text: str


def datapath(name: str) -> str:
    """The path of one of gensim's bundled test files."""
    from gensim.test.utils import datapath as gensim_datapath

    return gensim_datapath(name)


def _read_lines(name: str, encoding: str = "utf-8") -> list[str]:
    with open(datapath(name), encoding=encoding) as handle:
        return [line.rstrip("\r\n") for line in handle]


_BOLD_ITALIC = re.compile(r"'{2,}")
_HEADING = re.compile(r"^(=+)[ \t]*(.*?)[ \t]*\1[ \t]*$", re.MULTILINE)
_EMPTY_BULLET = re.compile(r"^[*#:;]+[ \t]*$", re.MULTILINE)
_MANY_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def clean_wiki(markup: str) -> str:
    """Wiki markup -> plain text: gensim's ``filter_wiki``, then quotes and headings."""
    from gensim.corpora.wikicorpus import filter_wiki

    text = filter_wiki(markup)
    text = _BOLD_ITALIC.sub("", text)  # '''bold''' and ''italic''
    text = _HEADING.sub(r"\2", text)  # ==Heading== -> Heading
    text = _EMPTY_BULLET.sub("", text)  # list bullets left without a link text
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()


@functools.lru_cache(maxsize=1)
def _wikipedia_articles() -> tuple[Article, ...]:
    from gensim.corpora.wikicorpus import extract_pages

    articles = []
    with bz2.open(datapath(WIKIPEDIA_FILE)) as handle:
        for title, markup, _page_id in extract_pages(handle, filter_namespaces=("0",)):
            if markup.lstrip().lower().startswith("#redirect"):
                continue
            text = clean_wiki(markup)
            if text:
                articles.append(Article(title, text))
    return tuple(articles)


def wikipedia_articles(limit: int | None = None) -> list[Article]:
    """The Wikipedia sample's articles, in dump order; ``limit`` keeps the first few."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise TypeError(f"limit must be an int or None, got {type(limit).__name__}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    articles = _wikipedia_articles()
    return list(articles if limit is None else articles[:limit])


@functools.lru_cache(maxsize=1)
def _wikipedia_lines() -> tuple[str, ...]:
    lines = []
    for article in _wikipedia_articles():
        lines.extend(line.strip() for line in article.text.split("\n") if line.strip())
    return tuple(lines)


def wikipedia_lines() -> list[str]:
    """Every non-empty line (paragraph, heading or list item) of the Wikipedia sample."""
    return list(_wikipedia_lines())


@functools.lru_cache(maxsize=1)
def _lee_background() -> tuple[str, ...]:
    return tuple(line.strip() for line in _read_lines(LEE_BACKGROUND_FILE) if line.strip())


def lee_background() -> list[str]:
    """The 300 news articles of the Lee background corpus, one string each."""
    return list(_lee_background())


@functools.lru_cache(maxsize=1)
def _lee_documents() -> tuple[str, ...]:
    # lee.cor is Latin-1: a few articles hold bytes that are not UTF-8.
    return tuple(line.strip() for line in _read_lines(LEE_FILE, "latin-1") if line.strip())


def lee_documents() -> list[str]:
    """The 50 short news documents that people compared pairwise (Lee et al., 2005)."""
    return list(_lee_documents())


@functools.lru_cache(maxsize=1)
def _lee_similarities() -> np.ndarray:
    # The file holds the upper triangle of the matrix (rows of 50 tab-separated numbers,
    # zeros below the diagonal): each entry is the mean of the people's ratings, already
    # scaled to [0, 1]. Mirror it to get the full symmetric matrix.
    upper = np.loadtxt(datapath(LEE_SIMILARITIES_FILE), dtype=np.float64)
    full = np.triu(upper) + np.triu(upper, k=1).T
    full.setflags(write=False)
    return full


def lee_similarities() -> np.ndarray:
    """50 x 50 symmetric human similarity of the Lee documents, ones on the diagonal."""
    return _lee_similarities().copy()


@functools.lru_cache(maxsize=1)
def _polarity() -> tuple[tuple[str, str], ...]:
    pairs = []
    # The file is Windows-1252 (its dashes are byte 0x97).
    for line in _read_lines(POLARITY_FILE, "cp1252"):
        if not line.strip():
            continue
        label, _, sentence = line.partition(" ")
        pairs.append((label.removeprefix("__label__"), sentence.strip()))
    return tuple(pairs)


def polarity() -> list[tuple[str, str]]:
    """200 movie-review sentences (Pang & Lee), as ``(label, sentence)``, label neg/pos."""
    return list(_polarity())


@functools.lru_cache(maxsize=1)
def _simlex999() -> tuple[tuple[str, str, float], ...]:
    rows = []
    for line in _read_lines(SIMLEX_FILE):
        if not line.strip() or line.startswith("#"):
            continue
        word1, word2, score = line.split("\t")
        rows.append((word1, word2, float(score)))
    return tuple(rows)


def simlex999() -> list[tuple[str, str, float]]:
    """SimLex-999: ``(word1, word2, mean human similarity on a 0-10 scale)``."""
    return list(_simlex999())
