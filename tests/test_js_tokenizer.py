"""The Playground's JavaScript tokenizer against ``bertguide.tokenizer.WordPieceTokenizer``.

``docs/assets/javascripts/playground/wordpiece.js`` must give, token for token and id for
id, what the Python tokenizer gives (which ``test_tokenizer.py`` proves equal to
transformers' ``BertTokenizer``). This file writes the Python tokenizer's answers to a
JSON file and runs ``node --test tests/js/wordpiece.test.mjs`` with that file's path in
``BERTGUIDE_JS_EXPECTED`` and the embedded model's ``vocab.txt`` in ``BERTGUIDE_JS_VOCAB``;
Node compares, and a difference fails this test with Node's output.

What is compared:

* every line of the offline corpora (the Wikipedia sample, the Lee background articles,
  the rated Lee documents, the Pang & Lee polarity sentences): tokens, ids and decoding;
* pairs cut by truncation: consecutive Lee articles (both long) and polarity sentences
  with articles (one long) at several lengths, and the hand-made pairs below, errors
  included (Python's ValueError is JavaScript's RangeError);
* the hard cases below, and decoding of id lists no text gives (the whole vocabulary);
* every character that Python's Unicode tables know (category not Cn), written between
  two letters and put through the basic tokenizer: the character classes themselves.

The two languages read different Unicode versions (``unicodedata.unidata_version``
against Node's ``process.versions.unicode``). The inputs where that changes the result
are listed by name in ``UNICODE_VERSION_CASES``: for each, Node checks that it gives the
Python answer on a stand-in character whose data in Python's tables is what the newer
Unicode gives the character, so the difference is shown, not just tolerated.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest

from bertguide import corpus
from bertguide.pretrained import default_model_dir
from bertguide.tokenizer import WordPieceTokenizer

ROOT = Path(__file__).resolve().parent.parent
JS_TEST = ROOT / "tests" / "js" / "wordpiece.test.mjs"
WHOLE_LINES = 1_000_000  # model_max_length for whole corpus lines: some pass 512 tokens

HARD_CASES = {
    "accents": "Crème brûlée, naïve café, Ångström, Zoë",
    "decomposed accents": "e\u0301te\u0301 and a lone \u0301 mark",
    "compatibility characters": "İstanbul ǅemal Straße ẞ ﬁnance ½ ² ℃ ＡＢＣ Ⅻ",
    "Chinese": "你好世界",
    "Chinese mixed with Latin": "BERT是一个模型(2018)",
    "Japanese kana and kanji": "こんにちは、世界！ カタカナ ひらがな が ぱ 日本語",
    "Korean": "한국어 텍스트",
    "CJK extension B and compatibility ideographs": "𠀋𠀀 豈 丽",
    "emoji": "😀👍🏽 ok ❤️ 🇫🇷 👨\u200d👩\u200d👧",
    "astral letters": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 𐐀𐐨",
    "zero-width joiner and soft hyphen": "co\u200doperate soft\u00adware",
    "zero-width and format characters": "a\u200bb\u200cc\u2060d\ufeffe\u202ef",
    "control characters": "\x00x\ufffdy\x7fz\x1b[0m \x85",
    "lone surrogates": "a\ud800b\udfffc",
    "private use": "\ue000 private \U000f0000 use",
    "Greek final sigma": "ΟΔΟΣ",
    "Greek sigma in context": "ΟΔΟΣ. ΣΑΣ Σ ΑΣ'Β ΑΣ\u0301 Α.Σ 1Σ aΣ σοφός Σωκράτης",
    "a word of 100 characters": "x" * 100,
    "a word of 101 characters": "x" * 101,
    "a word of 120 characters": "supercalifragilistic" * 6,
    "101 accented characters": "é" * 101,
    "60 emoji, 120 UTF-16 code units": "😀" * 60,
    "special token in text": "The capital of France is [MASK].",
    "special tokens glued to words": "the[MASK]. [mask] [UNK]x [CLS][SEP]y[PAD]",
    "special tokens made by cleaning": "[MA\u200bSK] [SE\u00adP]",
    "broken special tokens": "[ MASK ] [MASK",
    "unaffable": "unaffable",
    "Unaffable!": "Unaffable!",
    "numbers with punctuation": "3.14159 1,000,000 10:30pm 1/2 $5.00 -7 +3e-4 #1 50%",
    "mixed whitespace": "tab\there\nnew\rline\u00a0nbsp\u3000ideographic\u2003em  two",
    "line and paragraph separators": "a\u2028b\u2029c\x0bd\x0ce\x1cf",
    "empty": "",
    "only whitespace": " \t\n\u3000 ",
    "only punctuation": "!!! ... ?!, — « » ¿ ¡ … · • $+<=>^`|~ '\"",
    "apostrophes": "I don't know, it's John's 'quoted' word",
    "contractions split by spaces": "do n't , I 'm sure it 's what we 've said they 're",
    "url and e-mail": "e-mail: someone@example.com, http://x.org/a?b=c#d",
    "other scripts": "مرحبا بالعالم שלום नमस्ते สวัสดี Привет Ελληνικά",
    "Vietnamese": "Tiếng Việt có dấu",
}

# name -> (text, text_pair, truncation, max_length, add_special_tokens)
PAIR_CASES = {
    "a pair": ("Paris is a beautiful city", "I love Paris", False, None, True),
    "a pair that fits exactly": ("a b c", "d e", True, 8, True),
    "a pair cut to one token each": ("a b c", "d e f", True, 5, True),
    "a pair with an empty first text": ("", "only the second text here", True, 6, True),
    "a pair without special tokens": ("a b c", "d e", "longest_first", 3, False),
    "error: no room for text": ("a", "b", True, 3, True),
    "error: only_second without a pair": ("a b c d", None, "only_second", 3, True),
    "error: only_first too short": ("a", "b c d e f", "only_first", 5, True),
    "error: only_second too short": ("a b c d e", "f", "only_second", 5, True),
    "error: longer than the model": ("word " * 600, None, False, None, True),
}

# name -> (text, character, stand-in): the inputs where Python's and Node's Unicode
# versions disagree. The stand-in is a character that Python's tables already treat as
# the newer Unicode treats the character.
UNICODE_VERSION_CASES = {
    # Unicode 15.0 (2022): unassigned (Cn) in Unicode 14, so Python deletes it.
    "U+1FAE8 SHAKING FACE, an emoji of Unicode 15": (
        "shaking face \U0001fae8!",
        "\U0001fae8",
        "\U0001fae0",  # MELTING FACE, Unicode 14: a symbol (So), not in the vocabulary
    ),
    # Unicode 15.0 made it a spacing mark (Mc): Python strips it as an accent (Mn).
    "U+1171E AHOM CONSONANT SIGN MEDIAL RA, Mn before Unicode 15": (
        "ka\U0001171e ra",
        "\U0001171e",
        "\U00011720",  # AHOM VOWEL SIGN A, a spacing mark (Mc) in every version
    ),
}


def answer(tok, text, text_pair=None, truncation=False, max_length=None, special=True):
    """The Python tokenizer's output for one input, or the kind of error it raises."""
    try:
        batch = tok(
            text,
            text_pair,
            truncation=truncation,
            max_length=max_length,
            add_special_tokens=special,
            return_tensors=None,
        )
    except (ValueError, TypeError) as error:
        return {"error": type(error).__name__, "message": str(error)}
    ids = batch["input_ids"][0]
    return {
        "inputIds": ids,
        "tokenTypeIds": batch["token_type_ids"][0],
        "attentionMask": batch["attention_mask"][0],
        "tokens": tok.convert_ids_to_tokens(ids),
        "decoded": tok.decode(ids),
        "decodedSkipSpecial": tok.decode(ids, skip_special_tokens=True),
    }


def case(tok, name, text, text_pair=None, truncation=False, max_length=None, special=True):
    options = {"truncation": truncation, "maxLength": max_length, "addSpecialTokens": special}
    expected = answer(tok, text, text_pair, truncation, max_length, special)
    return {"name": name, "text": text, "textPair": text_pair, "options": options, **expected}


def corpus_pairs(tok) -> list[dict]:
    """Lee articles paired with the next ones (both long), polarity sentences with articles."""
    articles = corpus.lee_background()
    sentences = [s for _, s in corpus.polarity()]
    pairs = []
    for max_length in (64, 128):
        for i, (a, b) in enumerate(itertools.pairwise(articles)):
            pairs.append(case(tok, f"Lee {i} + {i + 1}, {max_length}", a, b, True, max_length))
    for i in range(0, len(articles) - 3, 10):  # two articles a side, cut to 512 by default
        a, b = " ".join(articles[i : i + 2]), " ".join(articles[i + 2 : i + 4])
        pairs.append(case(tok, f"Lee {i}-{i + 1} + {i + 2}-{i + 3}, 512", a, b, True, None))
    for i, (s, a) in enumerate(zip(sentences, articles[: len(sentences)], strict=True)):
        pairs.append(case(tok, f"polarity {i} + Lee {i}, 96", s, a, True, 96))
        pairs.append(case(tok, f"Lee {i} + polarity {i}, 97", a, s, "longest_first", 97))
    return pairs


def every_character(tok, chunk: int = 64) -> list[dict]:
    """Each character Python's tables know, as "a{char}b", in chunks of ``chunk`` words.

    Returns, per chunk, the code points, their categories (two letters each), the text
    (the chunk's words joined by spaces) and its basic tokens.
    """
    skip = {char for _, char, _ in UNICODE_VERSION_CASES.values()}
    chars = []
    for cp in range(0x110000):
        char = chr(cp)
        category = unicodedata.category(char)
        if category == "Cn" or char in skip:
            continue
        if category == "Co" and cp not in (0xE000, 0xF8FF, 0xF0000, 0x10FFFD):
            continue  # private use: four stand for the 137,468, all deleted alike
        chars.append(char)
    chunks = []
    for start in range(0, len(chars), chunk):
        part = chars[start : start + chunk]
        text = " ".join(f"a{char}b" for char in part)
        chunks.append(
            {
                "codePoints": [ord(c) for c in part],
                "categories": "".join(unicodedata.category(c) for c in part),
                "text": text,
                "tokens": tok.basic_tokenizer.tokenize(text),
            }
        )
    return chunks


def decode_cases(tok) -> list[dict]:
    """Ids that no text encodes to: every token of the vocabulary, and glued contractions."""
    glued = "[CLS] i ' ##m sure it ' ##s what we ' ##ve said they ' ##re do n ' ##t . [SEP] [PAD]"
    id_lists = {
        "every token, in id order": list(range(len(tok))),
        "every token, backwards": list(range(len(tok)))[::-1],
        "contractions glued by ##": tok.convert_tokens_to_ids(glued.split()),
    }
    return [
        {
            "name": name,
            "ids": ids,
            "decoded": tok.decode(ids),
            "decodedSkipSpecial": tok.decode(ids, skip_special_tokens=True),
            "decodedRaw": tok.decode(ids, clean_up_tokenization_spaces=False),
        }
        for name, ids in id_lists.items()
    ]


def unicode_version_cases(tok) -> list[dict]:
    """Python's answer on each such text, and on the text with the stand-in character."""
    out = []
    for name, (text, char, stand_in) in UNICODE_VERSION_CASES.items():
        expected = case(tok, name, text)
        other = case(tok, name, text.replace(char, stand_in))
        if unicodedata.category(stand_in) != unicodedata.category(char):
            # Python's Unicode predates the change: the stand-in must show it
            assert expected["inputIds"] != other["inputIds"], name
        expected["char"] = char
        expected["pythonCategory"] = unicodedata.category(char)
        expected["standInCategory"] = unicodedata.category(stand_in)
        expected["standIn"] = {k: other[k] for k in ("inputIds", "tokens")}
        out.append(expected)
    return out


@pytest.fixture(scope="module")
def expected_file(tmp_path_factory) -> tuple[Path, dict]:
    """The Python tokenizer's answers, as JSON for Node, and how many of each kind."""
    tok = WordPieceTokenizer.from_pretrained()
    whole = WordPieceTokenizer.from_pretrained(model_max_length=WHOLE_LINES)
    corpora = {
        "wikipedia": corpus.wikipedia_lines(),
        "lee_background": corpus.lee_background(),
        "lee_documents": corpus.lee_documents(),
        "polarity": [sentence for _, sentence in corpus.polarity()],
    }
    cls, sep = whole.cls_token_id, whole.sep_token_id
    data = {
        "pythonUnicode": unicodedata.unidata_version,
        "modelMaxLength": tok.model_max_length,
        "wholeLinesMaxLength": WHOLE_LINES,
        "corpora": [
            {
                "name": name,
                "texts": texts,
                "tokens": (tokens := [whole.tokenize(t) for t in texts]),
                "ids": (ids := [[cls, *whole.convert_tokens_to_ids(t), sep] for t in tokens]),
                "decoded": [whole.decode(i) for i in ids],
            }
            for name, texts in corpora.items()
        ],
        "cases": [
            {**case(tok, name, text), "tokenized": tok.tokenize(text)}
            for name, text in HARD_CASES.items()
        ]
        + [case(tok, name, *args) for name, args in PAIR_CASES.items()],
        "pairs": corpus_pairs(tok),
        "decodeCases": decode_cases(tok),
        "characters": every_character(tok),
        "charactersLeftOut": [f"U+{ord(c):04X}" for _, c, _ in UNICODE_VERSION_CASES.values()],
        "unicodeVersionCases": unicode_version_cases(tok),
    }
    counts = {
        "corpus lines": sum(len(c["texts"]) for c in data["corpora"]),
        "cases": len(data["cases"]),
        "corpus pairs": len(data["pairs"]),
        "decoded id lists": len(data["decodeCases"]),
        "characters": sum(len(c["codePoints"]) for c in data["characters"]),
        "Unicode-version cases": len(data["unicodeVersionCases"]),
    }
    path = tmp_path_factory.mktemp("js") / "expected.json"
    path.write_text(json.dumps(data), encoding="ascii")  # \uXXXX escapes keep lone surrogates
    return path, counts


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not on PATH: the JavaScript tokenizer is checked with Node >= 18")
    return path


def test_javascript_tokenizer_matches_python(node, expected_file):
    # `node` comes first, so that without Node the answers are not computed for nothing
    path, counts = expected_file
    env = {
        **os.environ,
        "BERTGUIDE_JS_EXPECTED": str(path),
        "BERTGUIDE_JS_VOCAB": str(default_model_dir() / "vocab.txt"),
        "NO_COLOR": "1",
    }
    start = time.perf_counter()
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(JS_TEST)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"node --test failed (exit {result.returncode}):\n{output[-12000:]}")
    # Node reports what it compared: a parity test that was skipped would not say so.
    for what, n in counts.items():
        assert f"compared {n} {what}\n" in result.stdout, (what, n, output[-4000:])
    print(f"node compared {counts} in {seconds:.1f} s")
