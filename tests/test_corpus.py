"""The offline corpora: sizes, cleaning, encodings and the Lee similarity matrix."""

import numpy as np
import pytest

from bertguide import corpus


def test_wikipedia_articles_are_clean_and_without_redirects():
    articles = corpus.wikipedia_articles()
    assert 100 <= len(articles) <= 210
    assert articles[0].title == "Anarchism"
    assert articles[0].text.startswith("Anarchism is a political philosophy")
    for article in articles:
        assert article.text
        assert not article.text.lower().startswith("#redirect")
        assert "'''" not in article.text and "''" not in article.text
        assert "[[" not in article.text and "{{" not in article.text
    total = sum(len(a.text) for a in articles)
    assert 2_000_000 < total < 4_000_000


def test_wikipedia_headings_lose_their_equals_signs():
    text = corpus.wikipedia_articles(limit=1)[0].text
    assert "\nEtymology and terminology\n" in text
    assert "==Etymology" not in text


def test_wikipedia_limit_and_copies():
    first = corpus.wikipedia_articles(limit=3)
    assert [a.title for a in first] == [a.title for a in corpus.wikipedia_articles()[:3]]
    first.clear()
    assert len(corpus.wikipedia_articles(limit=3)) == 3
    assert corpus.wikipedia_articles(limit=0) == []


@pytest.mark.parametrize("bad", [-1])
def test_wikipedia_limit_negative(bad):
    with pytest.raises(ValueError, match="limit"):
        corpus.wikipedia_articles(limit=bad)


@pytest.mark.parametrize("bad", ["3", 2.5, True])
def test_wikipedia_limit_type(bad):
    with pytest.raises(TypeError, match="limit"):
        corpus.wikipedia_articles(limit=bad)


def test_wikipedia_lines():
    lines = corpus.wikipedia_lines()
    assert len(lines) > 10_000
    assert all(line and line == line.strip() and "\n" not in line for line in lines)
    assert lines[0] == corpus.wikipedia_articles()[0].text.split("\n")[0]


def test_lee_background_and_documents():
    background = corpus.lee_background()
    assert len(background) == 300
    assert all(isinstance(doc, str) and doc for doc in background)
    documents = corpus.lee_documents()
    assert len(documents) == 50
    assert documents[0].startswith("The national executive of the strife-torn Democrats")
    # lee.cor is Latin-1: the pound sign must come through as a pound sign.
    assert any("£3,000" in doc for doc in documents)


def test_lee_similarities_is_symmetric_with_unit_diagonal():
    sims = corpus.lee_similarities()
    assert sims.shape == (50, 50)
    np.testing.assert_array_equal(sims, sims.T)
    np.testing.assert_array_equal(np.diag(sims), np.ones(50))
    assert sims.min() >= 0 and sims.max() <= 1
    # first row of the file, read independently
    assert sims[0, 1] == pytest.approx(0.3) and sims[1, 0] == pytest.approx(0.3)
    assert sims[0, 32] == pytest.approx(0.96)
    sims[0, 1] = 5.0  # a copy: the cache is untouched
    assert corpus.lee_similarities()[0, 1] == pytest.approx(0.3)


def test_polarity():
    pairs = corpus.polarity()
    assert len(pairs) == 200
    labels = [label for label, _ in pairs]
    assert set(labels) == {"neg", "pos"}
    assert labels.count("neg") == labels.count("pos") == 100
    assert pairs[0] == ("neg", "simplistic , silly and tedious .")
    # Windows-1252 em dash decoded, not replaced
    assert any("\u2014" in sentence for _, sentence in pairs)


def test_simlex999():
    rows = corpus.simlex999()
    assert len(rows) == 999
    assert rows[0] == ("old", "new", 1.58)
    assert all(0 <= score <= 10 for _, _, score in rows)
