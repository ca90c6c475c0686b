"""Offsets, word ids and overflowing windows against transformers' fast tokenizer.

The Python ``BertTokenizer`` has no offsets, so the reference is the Rust one (in
transformers 5 ``BertTokenizer`` itself, before that ``BertTokenizerFast``) on the same
vocab.txt. Inputs: the offline corpora and hard cases (accents, CJK, punctuation,
whitespace runs, control characters, [UNK] words, special tokens written in the text).
"""

from itertools import pairwise

import pytest
import torch
import transformers

from bertguide import corpus
from bertguide.offsets import text_spans
from bertguide.pretrained import resolve
from bertguide.tokenizer import load_vocab

MAJOR = int(transformers.__version__.split(".")[0])

HARD_CASES = [
    "Café cafe\u0301 naïve",  # composed and decomposed accents: offsets in the original
    "\u0301abc Ångström",  # a leading combining mark belongs to no token
    "Hello,  world!!  \t\n x",  # whitespace runs, punctuation of its own
    "İstanbul is BIG",  # a capital that lower-cases to two code points
    "日本語テキスト 中文 and 한국어",  # CJK ideographs, katakana, Hangul (3 jamo per syllable)
    "Paris is the [MASK] of France.",  # a special token written in the text
    "x[SEP]y [CLS]",
    "x\u200dy soft\u00adhyphen a\x0bb a\u2028b \x85z",  # deleted and odd whitespace characters
    "ﬁne ﬀ ǅ ẞ",  # ligatures and compatibility characters
    "a" * 120 + " ok",  # longer than max_input_chars_per_word: [UNK]
    "qqqqxzzyq ☃ ☃☃ don't U.S.A. $3.50",  # [UNK] words and punctuation splits
    "",
    "   ",
    "\u0301",
]


@pytest.fixture(scope="module")
def fast():
    transformers.utils.logging.set_verbosity_error()
    vocab_path = resolve(None) / "vocab.txt"
    if MAJOR >= 5:
        return transformers.BertTokenizer(
            vocab=load_vocab(vocab_path), do_lower_case=True, model_max_length=512
        )
    return transformers.BertTokenizerFast(
        vocab_file=str(vocab_path), do_lower_case=True, model_max_length=512
    )


def assert_same_rows(ours, theirs, n_rows):
    """ids, segments, mask, offsets, word ids and sequence ids of every row agree."""
    for key in theirs:
        assert torch.equal(ours[key], theirs[key]), key
    assert ours["input_ids"].shape[0] == n_rows
    for row in range(n_rows):
        assert ours.word_ids(row) == theirs.word_ids(row)
        assert ours.sequence_ids(row) == theirs.sequence_ids(row)


# -----------------------------------------------------------------------------
# offsets and word ids of single texts


@pytest.mark.parametrize("text", HARD_CASES)
def test_hard_cases_match_the_rust_tokenizer(tok, fast, text):
    ours = tok(text, return_offsets_mapping=True)
    theirs = fast(text, return_offsets_mapping=True, return_tensors="pt")
    assert_same_rows(ours, theirs, 1)
    # asking for offsets changes nothing else
    plain = tok(text)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert torch.equal(ours[key], plain[key])
    assert "offset_mapping" not in plain


def test_the_corpora_match_the_rust_tokenizer(tok, fast):
    lines = corpus.lee_background() + corpus.wikipedia_lines()[::4]
    assert len(lines) > 4000
    theirs = fast(lines, return_offsets_mapping=True, truncation=True, max_length=512)
    differ = []
    for i, line in enumerate(lines):
        ours = tok(line, return_offsets_mapping=True, truncation=True, return_tensors=None)
        same_ids = ours["input_ids"][0] == theirs["input_ids"][i]
        offsets = [tuple(span) for span in ours["offset_mapping"][0]]
        if not same_ids:  # the final sigma, where we follow the Python tokenizer
            assert "Σ" in line
            differ.append(i)
            continue
        assert offsets == [tuple(span) for span in theirs["offset_mapping"][i]], line
        assert ours.word_ids(0) == theirs.word_ids(i), line
    assert len(differ) <= 3


def test_each_span_holds_the_characters_of_its_token(tok):
    # independent of the reference: normalising text[start:end] gives the piece back
    basic = tok.basic_tokenizer
    text = "The Ölympic Flame, lit in Athènes, reached 東京 in 2021 — délai: 3½ days!"
    spans = text_spans(tok, text)
    assert [s[0] for s in spans] == tok.encode(text, add_special_tokens=False)
    for token_id, start, end, _ in spans:
        piece = tok.ids_to_tokens[token_id]
        if piece != tok.unk_token:
            assert basic.normalize(text[start:end]) == piece.removeprefix("##")
    assert [text[s:e] for _, s, e, _ in spans][:5] == ["The", "Ölympic", "Flame", ",", "lit"]


def test_accents_and_case_survive_in_the_original_text(tok):
    text = "Zoë met ÉMILE"
    batch = tok(text, return_offsets_mapping=True)
    tokens = tok.convert_ids_to_tokens(batch.input_ids[0])
    pieces = [text[s:e] for s, e in batch.offset_mapping[0].tolist()]
    assert tokens[1] == "zoe" and pieces[1] == "Zoë"
    assert "".join(pieces[3:-1]) == "ÉMILE"  # however WordPiece splits it
    assert batch.word_ids() == [None, 0, *[1], *[2] * (len(tokens) - 4), None]


def test_word_ids_of_a_pair_restart_and_survive_to(tok):
    batch = tok("Who are you?", "I am Sam.", return_offsets_mapping=True)
    assert batch.word_ids() == [None, 0, 1, 2, 3, None, 0, 1, 2, 3, None]
    assert batch.sequence_ids() == [None, 0, 0, 0, 0, None, 1, 1, 1, 1, None]
    assert batch.to("cpu").word_ids() == batch.word_ids()
    with pytest.raises(ValueError, match="return_offsets_mapping"):
        tok("Who are you?").word_ids()


def test_padding_gives_padding_no_span(tok, fast):
    texts = ["short", "a much longer sentence, with more words"]
    ours = tok(texts, padding=True, return_offsets_mapping=True)
    theirs = fast(texts, padding=True, return_offsets_mapping=True, return_tensors="pt")
    assert_same_rows(ours, theirs, 2)
    assert ours.offset_mapping[0, -1].tolist() == [0, 0] and ours.word_ids(0)[-1] is None


# -----------------------------------------------------------------------------
# overflowing windows


@pytest.fixture(scope="module")
def questions_and_contexts():
    docs = corpus.lee_background()[:40]
    return [d.split(".")[0][:80] + "?" for d in docs], docs


@pytest.mark.parametrize(
    "options",
    [
        dict(truncation="only_second", max_length=64, stride=16, padding="max_length"),
        dict(truncation="only_second", max_length=100, stride=0, padding=True),
        dict(truncation="only_second", max_length=384, stride=128, padding=True),
    ],
)
def test_question_context_windows_match(tok, fast, questions_and_contexts, options):
    questions, contexts = questions_and_contexts
    args = dict(return_offsets_mapping=True, return_overflowing_tokens=True, **options)
    ours = tok(questions, contexts, **args)
    theirs = fast(questions, contexts, return_tensors="pt", **args)
    assert_same_rows(ours, theirs, theirs["input_ids"].shape[0])
    assert ours["input_ids"].shape[0] > len(contexts)  # some contexts did overflow


def test_windows_of_single_texts_and_only_first_match(tok, fast, questions_and_contexts):
    questions, contexts = questions_and_contexts
    args = dict(return_offsets_mapping=True, return_overflowing_tokens=True, padding=True)
    ours = tok(contexts, truncation=True, max_length=50, stride=10, **args)
    theirs = fast(contexts, truncation=True, max_length=50, stride=10, return_tensors="pt", **args)
    assert_same_rows(ours, theirs, theirs["input_ids"].shape[0])
    ours = tok(contexts, questions, truncation="only_first", max_length=60, stride=5, **args)
    theirs = fast(
        contexts,
        questions,
        truncation="only_first",
        max_length=60,
        stride=5,
        return_tensors="pt",
        **args,
    )
    assert_same_rows(ours, theirs, theirs["input_ids"].shape[0])


def test_windows_overlap_by_stride(tok):
    context = " ".join(f"w{i}" for i in range(30))  # w0 w1 ...: 2 tokens a word
    batch = tok("q?", context, truncation="only_second", max_length=15, stride=4,
                return_overflowing_tokens=True, return_tensors=None)  # fmt: skip
    windows = [row[4:-1] for row in batch["input_ids"]]  # the context part of each row
    assert [len(w) for w in windows[:-1]] == [10] * (len(windows) - 1)
    for a, b in pairwise(windows):
        assert a[-4:] == b[:4]  # each window starts with the last 4 tokens of the one before
    joined = windows[0] + [t for w in windows[1:] for t in w[4:]]
    assert joined == tok.encode(context, add_special_tokens=False)
    assert batch["overflow_to_sample_mapping"] == [0] * len(windows)


def test_bad_window_options_fail_clearly(tok):
    long = "word " * 100
    with pytest.raises(ValueError, match="stride"):
        tok("q", long, truncation="only_second", max_length=20, stride=16,
            return_overflowing_tokens=True)  # fmt: skip
    with pytest.raises(ValueError, match="longest_first"):
        tok("q", long, truncation=True, max_length=20, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="needs truncation"):
        tok(long, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="stride must be >= 0"):
        tok(long, truncation=True, max_length=20, stride=-1, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="leaves no room"):
        tok(long, "q", truncation="only_first", max_length=4, return_overflowing_tokens=True)
