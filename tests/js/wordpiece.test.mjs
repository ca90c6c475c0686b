// The Playground's tokenizer (docs/assets/javascripts/playground/wordpiece.js), tested
// with Node's built-in runner:
//
//     node --test tests/js/wordpiece.test.mjs
//
// The first tests need nothing but the module: WordPiece on toy vocabularies, with
// answers worked out by hand. The parity tests compare with the Python tokenizer; they
// run when BERTGUIDE_JS_EXPECTED names the JSON of its answers and BERTGUIDE_JS_VOCAB the
// vocab.txt it used (tests/test_js_tokenizer.py writes one and sets both).
//
// Python and Node may read different Unicode versions (3.11: Unicode 14.0; Node 20.20:
// 17.0). The inputs where that matters are named in UNICODE_VERSION_CASES of
// tests/test_js_tokenizer.py (U+1FAE8 SHAKING FACE, new in Unicode 15, which Python
// deletes as unassigned; U+1171E AHOM CONSONANT SIGN MEDIAL RA, Mn before Unicode 15 and
// Mc since, which Python strips as an accent): the last test expects the newer answer
// there, and the every-character test leaves out those characters and no others.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  isPunctuation,
  loadVocab,
  stripAccents,
  WordPieceTokenizer,
} from "../../docs/assets/javascripts/playground/wordpiece.js";

const SPECIALS = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";

function toy(tokens, options) {
  return new WordPieceTokenizer(loadVocab(SPECIALS + tokens.join("\n") + "\n"), options);
}

// ---------------------------------------------------------------------------
// toy vocabularies: the algorithm on its own

describe("WordPiece on a toy vocabulary", () => {
  test("the classic example: unaffable -> un ##aff ##able", () => {
    const tok = toy(["un", "##aff", "##able"]);
    assert.deepEqual(tok.tokenize("unaffable"), ["un", "##aff", "##able"]);
    assert.deepEqual(tok.convertTokensToIds(tok.tokenize("unaffable")), [5, 6, 7]);
  });

  test("longest match first: with 'una' in the vocabulary it wins over 'un'", () => {
    const tok = toy(["un", "##aff", "##able", "una", "##ffa", "##ble"]);
    assert.deepEqual(tok.tokenize("unaffable"), ["una", "##ffa", "##ble"]);
  });

  test("a word no pieces cover, or a too long one, is one [UNK]", () => {
    const tok = toy(["un", "##aff", "##able", "!"], { maxInputCharsPerWord: 9 });
    assert.deepEqual(tok.tokenize("unaffablex un!"), ["[UNK]", "un", "!"]);
    const pieces = ["un", "##aff", "##able"];
    assert.deepEqual(tok.tokenize("unaffable unaffable!"), [...pieces, ...pieces, "!"]);
    assert.deepEqual(toy(["un"], { maxInputCharsPerWord: 1 }).tokenize("un"), ["[UNK]"]);
  });

  test("astral characters count once: two emoji are two characters, not four", () => {
    const tok = toy(["😀", "##😀"], { maxInputCharsPerWord: 2 });
    assert.deepEqual(tok.tokenize("😀😀"), ["😀", "##😀"]);
    assert.deepEqual(tok.tokenize("😀😀😀"), ["[UNK]"]);
  });

  test("the basic tokenizer: cleaning, CJK, case, accents, punctuation", () => {
    const tok = toy([]);
    assert.deepEqual(tok.basicTokenize(" Hello,World!\u200b "), ["hello", ",", "world", "!"]);
    assert.deepEqual(tok.basicTokenize("Crème brûlée"), ["creme", "brulee"]);
    assert.deepEqual(tok.basicTokenize("日本go"), ["日", "本", "go"]);
    assert.deepEqual(tok.basicTokenize("ΟΔΟΣ ΣΑ"), ["οδος", "σα"]); // final ς, then σ
    assert.deepEqual(tok.basicTokenize("co\u00adop\tx\u3000y"), ["coop", "x", "y"]);
    assert.deepEqual(tok.basicTokenize("$5+<x>"), ["$", "5", "+", "<", "x", ">"]);
    assert.equal(stripAccents("naïve café"), "naive cafe");
    assert.ok(isPunctuation("«") && isPunctuation("~") && !isPunctuation("a"));
    // Without lower-casing the word is still composed (NFC): e + U+0301 -> é
    const cased = toy([], { doLowerCase: false });
    assert.deepEqual(cased.basicTokenize("Cafe\u0301 Ünï"), ["Caf\u00e9", "\u00dcn\u00ef"]);
    const casedPlain = toy([], { doLowerCase: false, stripAccents: true });
    assert.deepEqual(casedPlain.basicTokenize("Café Ünï"), ["Cafe", "Uni"]);
  });

  test("special tokens written in the text stay whole", () => {
    const tok = toy(["the", "."]);
    assert.deepEqual(tok.tokenize("the[MASK]."), ["the", "[MASK]", "."]);
    assert.deepEqual(tok.tokenize("[MA\u200bSK] [mask]"), ["[MASK]", "[UNK]", "[UNK]", "[UNK]"]);
  });

  test("encode: [CLS] A [SEP] B [SEP], types and mask", () => {
    const tok = toy(["a", "b"]);
    assert.deepEqual(tok.encode("a a", "b"), {
      inputIds: [2, 5, 5, 3, 6, 3],
      tokenTypeIds: [0, 0, 0, 0, 1, 1],
      attentionMask: [1, 1, 1, 1, 1, 1],
      tokens: ["[CLS]", "a", "a", "[SEP]", "b", "[SEP]"],
    });
    assert.deepEqual(tok.encode("a", null, { addSpecialTokens: false }).inputIds, [5]);
  });

  test("longest_first removes from the longer text, from the second on a tie", () => {
    const tok = toy(["a", "b"]);
    const cut = (n) => tok.encode("a a a a a", "b b b", { truncation: true, maxLength: n }).tokens;
    // 5 + 3 text tokens; one at a time: 4 + 3, 3 + 3, then the tie goes to the second
    assert.deepEqual(cut(9), ["[CLS]", "a", "a", "a", "[SEP]", "b", "b", "b", "[SEP]"]);
    assert.deepEqual(cut(8), ["[CLS]", "a", "a", "a", "[SEP]", "b", "b", "[SEP]"]);
    assert.deepEqual(cut(7), ["[CLS]", "a", "a", "[SEP]", "b", "b", "[SEP]"]);
    assert.deepEqual(cut(5), ["[CLS]", "a", "[SEP]", "b", "[SEP]"]);
    const first = tok.encode("a a a", "b b b b", { truncation: "only_first", maxLength: 8 });
    assert.deepEqual(first.tokens, ["[CLS]", "a", "[SEP]", "b", "b", "b", "b", "[SEP]"]);
    const single = tok.encode("a a a a", null, { truncation: true, maxLength: 4 });
    assert.deepEqual(single.tokens, ["[CLS]", "a", "a", "[SEP]"]);
  });

  test("decode glues ## pieces and removes the space before punctuation", () => {
    const tok = toy(["un", "##aff", "##able", "!", "don", "'", "t"]);
    const ids = tok.encode("Unaffable! don't").inputIds;
    assert.equal(tok.decode(ids), "[CLS] unaffable! don't [SEP]");
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "unaffable! don't");
    assert.equal(
      tok.decode(ids, { cleanUpTokenizationSpaces: false }),
      "[CLS] unaffable ! don ' t [SEP]",
    );
  });

  test("loadVocab reads \\n, \\r\\n and \\r line ends, a final one adds no token", () => {
    const vocab = loadVocab("a\r\nb\rc\n\nd\n");
    assert.deepEqual([...vocab.keys()], ["a", "b", "c", "", "d"]);
    assert.deepEqual([...vocab.values()], [0, 1, 2, 3, 4]);
    assert.equal(loadVocab("").size, 0);
  });

  test("bad input names the argument", () => {
    const tok = toy(["a"]);
    assert.throws(() => tok.tokenize(null), {
      name: "TypeError",
      message: /text must be a string/,
    });
    assert.throws(() => tok.encode("a", 3), {
      name: "TypeError",
      message: /textPair must be a string/,
    });
    assert.throws(() => tok.encode("a", "a", { truncation: true, maxLength: 3 }), {
      name: "RangeError",
      message: /maxLength=3 leaves no room/,
    });
    assert.throws(() => tok.encode("a", null, { truncation: "sideways" }), { name: "RangeError" });
    assert.throws(() => tok.encode("a", null, { maxLength: 1.5 }), { name: "TypeError" });
    assert.throws(() => tok.decode([99]), { name: "RangeError", message: /id 99 is not/ });
    assert.throws(() => new WordPieceTokenizer(new Map([["a", 0]])), /lacks the special token/);
    assert.throws(() => new WordPieceTokenizer("a\nb"), {
      name: "TypeError",
      message: /vocab must be/,
    });
    assert.throws(() => loadVocab(null), { name: "TypeError" });
  });
});

// ---------------------------------------------------------------------------
// parity with the Python tokenizer

const EXPECTED = process.env.BERTGUIDE_JS_EXPECTED;
const VOCAB = process.env.BERTGUIDE_JS_VOCAB;
const skip = EXPECTED && VOCAB ? false : "needs BERTGUIDE_JS_EXPECTED and BERTGUIDE_JS_VOCAB";

describe("the same output as bertguide's Python tokenizer", { skip }, () => {
  if (skip) return;
  const data = JSON.parse(readFileSync(EXPECTED, "utf8"));
  const vocab = loadVocab(readFileSync(VOCAB, "utf8"));
  const tok = new WordPieceTokenizer(vocab, { modelMaxLength: data.modelMaxLength });
  const whole = new WordPieceTokenizer(vocab, { modelMaxLength: data.wholeLinesMaxLength });

  // Compare everything, then fail once with the first few differences.
  function report(t, what, compared, mismatches) {
    t.diagnostic(`compared ${compared} ${what}`);
    const shown = mismatches.slice(0, 5).map((m) => JSON.stringify(m).slice(0, 1500));
    assert.equal(
      mismatches.length,
      0,
      `${mismatches.length} of ${compared} ${what} differ:\n${shown.join("\n")}`,
    );
  }
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const hex = (cp) => cp.toString(16).toUpperCase().padStart(4, "0");

  // One case: the same output, or the same kind of error (ValueError -> RangeError).
  function check(c) {
    const options = c.options ?? {};
    let got;
    try {
      got = tok.encode(c.text, c.textPair, options);
    } catch (error) {
      const kind = { ValueError: "RangeError", TypeError: "TypeError" }[c.error];
      if (c.error && error.name === kind) return null;
      return { name: c.name, expected: c.error ? c.message : c.tokens, got: String(error) };
    }
    if (c.error) return { name: c.name, expected: c.message, got: got.tokens };
    const decoded = tok.decode(got.inputIds);
    const decodedSkipSpecial = tok.decode(got.inputIds, { skipSpecialTokens: true });
    const fields = { ...got, decoded, decodedSkipSpecial };
    if (c.tokenized) fields.tokenized = tok.tokenize(c.text);
    for (const [key, value] of Object.entries(fields)) {
      if (!same(value, c[key])) {
        return { name: c.name, text: c.text, key, expected: c[key], got: value };
      }
    }
    return null;
  }

  test("the examples in the module's comments", () => {
    // the Python tokenizer's answers on the same vocabulary
    assert.deepEqual(tok.tokenize("Unaffable!"), ["una", "##ffa", "##ble", "!"]);
    assert.deepEqual(tok.encode("hello world").inputIds, [101, 7592, 2088, 102]);
    assert.equal(tok.decode([101, 7592, 1010, 2088, 102]), "[CLS] hello, world [SEP]");
    const pair = tok.encode("Paris is nice", "I love Paris", { truncation: true, maxLength: 8 });
    assert.deepEqual(pair.tokens, ["[CLS]", "paris", "is", "nice", "[SEP]", "i", "love", "[SEP]"]);
    assert.deepEqual(pair.tokenTypeIds, [0, 0, 0, 0, 0, 1, 1, 1]);
  });

  test("every line of the offline corpora: tokens, ids, decoding", (t) => {
    const mismatches = [];
    let n = 0;
    for (const { name, texts, tokens, ids, decoded } of data.corpora) {
      texts.forEach((text, i) => {
        n += 1;
        const got = whole.encode(text);
        const gotTokens = whole.tokenize(text);
        const ok =
          same(gotTokens, tokens[i]) &&
          same(got.inputIds, ids[i]) &&
          same(got.tokens, ["[CLS]", ...tokens[i], "[SEP]"]) &&
          got.tokenTypeIds.every((x) => x === 0) &&
          whole.decode(got.inputIds) === decoded[i];
        if (!ok) {
          mismatches.push({
            corpus: name,
            line: i,
            text: text.slice(0, 300),
            expected: tokens[i],
            got: gotTokens,
          });
        }
      });
    }
    report(t, "corpus lines", n, mismatches);
  });

  test("hard cases, pairs and errors", (t) => {
    const mismatches = data.cases.map(check).filter(Boolean);
    report(t, "cases", data.cases.length, mismatches);
  });

  test("corpus pairs cut by truncation", (t) => {
    const mismatches = data.pairs.map(check).filter(Boolean);
    report(t, "corpus pairs", data.pairs.length, mismatches);
  });

  test("decoding id lists that no text encodes to", (t) => {
    const mismatches = [];
    for (const c of data.decodeCases) {
      const got = {
        decoded: tok.decode(c.ids),
        decodedSkipSpecial: tok.decode(c.ids, { skipSpecialTokens: true }),
        decodedRaw: tok.decode(c.ids, { cleanUpTokenizationSpaces: false }),
      };
      for (const [key, value] of Object.entries(got)) {
        if (value !== c[key]) mismatches.push({ name: c.name, key, expected: c[key], got: value });
      }
    }
    report(t, "decoded id lists", data.decodeCases.length, mismatches);
  });

  test("every character Python's Unicode tables know, through the basic tokenizer", (t) => {
    const mismatches = [];
    let n = 0;
    for (const { codePoints, categories, text, tokens } of data.characters) {
      n += codePoints.length;
      const got = tok.basicTokenize(text);
      if (same(got, tokens)) continue;
      // The characters whose category differs here: Unicode-version differences to list.
      const other = codePoints.filter((cp, i) => {
        const category = categories.slice(2 * i, 2 * i + 2);
        return !new RegExp(`^\\p{${category}}$`, "u").test(String.fromCodePoint(cp));
      });
      const at = got.findIndex((token, i) => token !== tokens[i]);
      mismatches.push({
        chars: `U+${hex(codePoints[0])}..U+${hex(codePoints[codePoints.length - 1])}`,
        otherCategory: other.map((cp) => `U+${hex(cp)}`),
        expected: tokens.slice(at, at + 5),
        got: got.slice(at, at + 5),
      });
    }
    const leftOut = data.charactersLeftOut;
    t.diagnostic(`left out by name: ${leftOut.length} (${leftOut.join(", ")}), tested below`);
    report(t, "characters", n, mismatches);
  });

  test("Unicode-version differences, by name: the newer Unicode's answer", (t) => {
    const mismatches = [];
    let differ = 0;
    for (const c of data.unicodeVersionCases) {
      // Same data for the character in both tables: Python's answer; else the stand-in's.
      const sameData = new RegExp(`^\\p{${c.pythonCategory}}$`, "u").test(c.char);
      const want = sameData ? c : c.standIn;
      differ += sameData ? 0 : 1;
      const got = tok.encode(c.text);
      if (!same(got.inputIds, want.inputIds) || !same(got.tokens, want.tokens)) {
        mismatches.push({ name: c.name, sameData, expected: want.tokens, got: got.tokens });
      }
    }
    t.diagnostic(
      `${differ} of ${data.unicodeVersionCases.length} differ from Python here ` +
        `(Python's Unicode ${data.pythonUnicode}, Node's ${process.versions.unicode})`,
    );
    report(t, "Unicode-version cases", data.unicodeVersionCases.length, mismatches);
  });
});
