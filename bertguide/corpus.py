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
``sentence_documents()``   Wikipedia or Lee documents as lists of sentences, with a fixed
                           train / held-out split by document (``is_heldout``)
=========================  ==============================================================

Each loader parses its file once per process and hands out a fresh list, so callers
may change what they get without spoiling the cache.

Left out: the full Wikipedia dump (the sample stops after ~200 pages), tables,
infoboxes and references (``filter_wiki`` drops them), and any download.

>>> len(lee_background()), polarity()[0]
(300, ('neg', 'simplistic , silly and tedious .'))
>>> simlex999()[0]
('old', 'new', 1.58)
"""

from __future__ import annotations

import bz2
import functools
import re
import zlib
from typing import NamedTuple

import numpy as np

from bertguide.checks import check_int

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
    check_int("limit", limit, 0, optional=True)
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


# --- documents as sentences, for next-sentence prediction -------------------------

# Words that end with a full stop but do not end a sentence ("Mr. Howard", "St. Kilda").
_ABBREVIATION_WORDS = """
    mr mrs ms dr prof st jr sr mt ft lt col gen sgt capt gov sen rep rev hon
    vs etc eg ie cf al approx inc ltd co corp dept no vol fig ca c b d
    jan feb mar apr jun jul aug sep sept oct nov dec
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
# A candidate boundary: . ! or ? (then closing quotes or brackets), then whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+")
_FIRST_WORD = re.compile(r"[\"'“‘(\[]*([A-Z0-9])")
_LAST_WORD = re.compile(r"([\w.]+)\.$")
_PROSE_END = re.compile(r"[.!?][\"'”’)\]]*$")

CORPORA = ("wikipedia", "lee")
SPLITS = ("all", "train", "heldout")
HELDOUT_PERCENT = 10  # share of documents (by hash) kept out of training


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences with a few rules (no trained model).

    A sentence ends at ``.``, ``!`` or ``?`` (and any closing quotes or brackets) followed
    by whitespace and a capital letter, a digit or an opening quote, unless the word
    before the full stop is a known abbreviation ("Dr.", "St.", "etc.") or a single
    capital letter (the initials of "J. R. R. Tolkien" or "U.S.").

    >>> split_sentences('He left at 4 p.m. on Monday. "It was late," Dr. Smith said. Why?')
    ['He left at 4 p.m. on Monday.', '"It was late," Dr. Smith said.', 'Why?']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if not _FIRST_WORD.match(text, match.end()):
            continue  # "p.m. on": the next word starts in lower case
        last = _LAST_WORD.search(text, start, match.start() + 1)  # the word before "."
        if last:
            word = last.group(1).split(".")[-1]
            if word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _prose_sentences(paragraph: str, min_words: int) -> list[str]:
    # headings, captions and list items do not end like prose: skip them
    paragraph = " ".join(paragraph.split())
    if not _PROSE_END.search(paragraph):
        return []
    return [s for s in split_sentences(paragraph) if len(s.split()) >= min_words]


def is_heldout(corpus_name: str, key: str | int) -> bool:
    """Whether the document ``key`` of a corpus goes to the held-out split: a fixed hash.

    The key is the article title for Wikipedia and the line number (0-based) for the
    Lee corpus; the document is held out when ``crc32("<corpus>/<key>") % 100`` is below
    ``HELDOUT_PERCENT``. A hash, not a position, so the side of a document does not
    change when other documents are added, dropped or reordered.
    """
    if corpus_name not in CORPORA:
        raise ValueError(f"corpus_name must be one of {CORPORA}, got {corpus_name!r}")
    return zlib.crc32(f"{corpus_name}/{key}".encode()) % 100 < HELDOUT_PERCENT


LINKING_WORDS = 8  # documents sharing a sentence of at least this many words split together


def _group_leaders(documents: list[tuple[str, ...]]) -> list[int]:
    """For each document, the first document of its group: documents that share a
    sentence of ``LINKING_WORDS`` words or more (a news story filed twice with edits)
    form one group, so that no such sentence lands on both sides of the split."""
    leader = list(range(len(documents)))

    def find(d: int) -> int:
        while leader[d] != d:
            d = leader[d]
        return d

    first_seen: dict[str, int] = {}
    for d, sentences in enumerate(documents):
        for sentence in sentences:
            if len(sentence.split()) < LINKING_WORDS:
                continue  # short lines such as "Cambridge University Press." link nothing
            other = first_seen.setdefault(sentence, d)
            a, b = find(d), find(other)
            leader[max(a, b)] = min(a, b)  # the earlier document leads
    return [find(d) for d in range(len(documents))]


@functools.lru_cache(maxsize=len(CORPORA))
def _sentence_documents(corpus_name: str) -> tuple[tuple[bool, tuple[str, ...]], ...]:
    if corpus_name == "wikipedia":
        sources = [(a.title, a.text.split("\n")) for a in _wikipedia_articles()]
    else:
        sources = [(i, [text]) for i, text in enumerate(_lee_background())]
    keys, documents, seen = [], [], set()
    for key, paragraphs in sources:
        sentences = tuple(s for p in paragraphs for s in _prose_sentences(p, min_words=3))
        if sentences and sentences not in seen:  # the Lee corpus repeats a few articles
            seen.add(sentences)
            keys.append(key)
            documents.append(sentences)
    leaders = _group_leaders(documents)
    return tuple(
        (is_heldout(corpus_name, keys[leader]), sentences)
        for leader, sentences in zip(leaders, documents, strict=True)
    )


def sentence_documents(corpus_name: str = "lee", split: str = "all") -> list[list[str]]:
    """Documents as lists of sentences, for next-sentence prediction.

    ``corpus_name``: "wikipedia" (the ~100 articles of the sample; headings, captions and
    list items dropped, paragraphs split into sentences and joined in order, so an
    article's last sentence of one paragraph is followed by the first of the next) or
    "lee" (the 300 Lee background news articles, the 7 repeated ones once). Sentences
    shorter than three words are dropped, and so are documents left without a sentence.

    ``split``: "all", "train" or "heldout". About ``HELDOUT_PERCENT`` % of the documents
    are held out, chosen by ``is_heldout`` from the key of the first document of their
    group (documents that share a sentence of ``LINKING_WORDS`` words or more): a
    document, and a story filed twice, is always whole on one side.

    >>> docs = sentence_documents("lee", split="train")
    >>> len(docs), docs[0][1][:42]
    (272, 'A new blaze near Goulburn, south-west of S')
    """
    if corpus_name not in CORPORA:
        raise ValueError(f"corpus_name must be one of {CORPORA}, got {corpus_name!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return [
        list(sentences)
        for heldout, sentences in _sentence_documents(corpus_name)
        if split == "all" or heldout == (split == "heldout")
    ]
