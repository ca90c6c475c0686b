"""Training a WordPiece vocabulary on the offline Wikipedia sample."""

from collections import Counter

import pytest
import transformers

import bertguide as bg
from bertguide import corpus
from bertguide.basic_tokenizer import BasicTokenizer
from bertguide.tokenizer import SPECIAL_TOKENS
from bertguide.wordpiece_training import learn_wordpiece


@pytest.fixture(scope="module")
def texts():
    """The first ~400 KB of the Wikipedia sample."""
    out, size = [], 0
    for line in corpus.wikipedia_lines():
        out.append(line)
        size += len(line)
        if size > 400_000:
            break
    return out


@pytest.fixture(scope="module")
def trained(texts):
    return bg.train_wordpiece(texts, vocab_size=3000, min_frequency=10), None


def test_training_fills_the_vocabulary(trained):
    tok, _ = trained
    assert len(tok) == 3000
    assert list(tok.vocab)[:5] == list(SPECIAL_TOKENS)
    assert sorted(tok.vocab.values()) == list(range(3000))


def test_trained_vocabulary_covers_its_corpus_with_fewer_pieces(trained, texts):
    tok, _ = trained
    basic = BasicTokenizer()
    words = Counter(w for text in texts[:300] for w in basic.tokenize(text))
    characters = sum(len(w) * n for w, n in words.items())
    pieces = sum(len(tok.wordpiece(w)) * n for w, n in words.items())
    unknown = sum(n for w, n in words.items() if tok.wordpiece(w) == ["[UNK]"])
    assert pieces < 0.5 * characters  # merges did their job
    assert unknown < 0.01 * sum(words.values())  # only words with rare characters
    # frequent words became single tokens
    for word in ("the", "of", "anarchism", "political"):
        assert tok.tokenize(word) == [word]


def test_every_merged_piece_joins_two_earlier_pieces(trained):
    tok, _ = trained
    order = list(tok.vocab)
    earlier = set()
    for token in order:
        single = len(token.removeprefix("##")) == 1
        if token not in SPECIAL_TOKENS and not single:
            prefix = "##" if token.startswith("##") else ""
            body = token.removeprefix("##")
            assert any(
                prefix + body[:cut] in earlier and "##" + body[cut:] in earlier
                for cut in range(1, len(body))
            ), token
        earlier.add(token)


def test_first_merge_worked_out_by_hand():
    # counts: h 15, ##u 36, ##g 20, p 17, ##n 16, b 4, ##s 5. Every pair with ##u scores
    # count/(count(x) * 36) = 1/36; (##g, ##s) scores 5 / (20 * 5) = 1/20 and wins.
    counts = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}
    vocab = learn_wordpiece(counts, vocab_size=13, min_frequency=1)
    assert vocab[:5] == list(SPECIAL_TOKENS)
    assert sorted(vocab[5:12]) == sorted(["h", "##u", "##g", "p", "##n", "b", "##s"])
    assert vocab[12] == "##gs"
    # by frequency (BPE) the most frequent pair, (##u, ##g) with 20, goes first
    assert learn_wordpiece(counts, 13, 1, score="frequency")[12] == "##ug"


def test_frequency_score_and_determinism(texts):
    a = bg.train_wordpiece(texts[:200], vocab_size=800, score="frequency")
    b = bg.train_wordpiece(texts[:200], vocab_size=800, score="frequency")
    assert a.vocab == b.vocab and len(a) == 800
    c = bg.train_wordpiece(texts[:200], vocab_size=800)
    assert c.vocab != a.vocab  # the two scores choose different merges


def test_trained_vocabulary_works_in_transformers(trained, texts, tmp_path):
    tok, _ = trained
    tok.save_pretrained(tmp_path)
    again = bg.WordPieceTokenizer.from_pretrained(tmp_path)
    assert again.vocab == tok.vocab
    if int(transformers.__version__.split(".")[0]) >= 5:
        from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as Slow
    else:
        from transformers import BertTokenizer as Slow
    reference = Slow(vocab_file=str(tmp_path / "vocab.txt"), do_lower_case=True)
    for text in corpus.lee_background()[:30]:
        assert again.tokenize(text) == reference.tokenize(text)


def test_training_errors(texts):
    with pytest.raises(TypeError, match="not one str"):
        bg.train_wordpiece("just a string")
    with pytest.raises(TypeError, match="texts must hold str"):
        bg.train_wordpiece(["ok", 3])
    with pytest.raises(ValueError, match="no words"):
        bg.train_wordpiece(["   ", ""])
    with pytest.raises(ValueError, match="vocab_size"):
        bg.train_wordpiece(texts[:5], vocab_size=3)
    with pytest.raises(ValueError, match="score"):
        bg.train_wordpiece(texts[:5], score="bpe")
