/**
 * BERT's tokenizer in the browser: text -> basic tokens -> WordPiece pieces -> ids.
 *
 * The JavaScript twin of `bertguide.tokenizer.WordPieceTokenizer` (the Tokenization
 * chapter), written for the Playground page, where the model runs in the reader's
 * browser. It gives the same tokens and ids as the Python tokenizer, which itself
 * gives the same as transformers' `BertTokenizer`; tests/js/wordpiece.test.mjs checks
 * that on every line of the offline corpora. An ES module with no dependencies and no
 * build step: a browser imports it as it is, and so does Node (20.19+ and 22.7+ see the
 * `export`s; the package.json beside it says "type": "module" for older Nodes).
 *
 *     import { loadVocab, WordPieceTokenizer } from "./wordpiece.js";
 *     const vocab = loadVocab(await (await fetch("vocab.txt")).text());
 *     const tok = new WordPieceTokenizer(vocab);
 *     tok.tokenize("Unaffable!");        // ["una", "##ffa", "##ble", "!"]
 *     tok.encode("Paris is nice", "I love Paris", { truncation: true, maxLength: 8 });
 *     // { inputIds, tokenTypeIds, attentionMask, tokens }, each T long
 *
 * Shapes in the comments: T = tokens (the sequence length), one sequence at a time.
 *
 * The two stages, as in the original BERT code:
 *
 * 1. The basic tokenizer drops NUL, U+FFFD and every control or format character
 *    (Unicode category C*: the zero-width joiner, the soft hyphen...), turns whitespace
 *    into spaces, puts spaces around CJK ideographs, splits on whitespace, then, for an
 *    uncased vocabulary, lower-cases and strips accents (NFD, then drop category Mn)
 *    and splits off every punctuation character (ASCII symbols and category P*).
 * 2. WordPiece splits each basic token greedily, longest match first, into pieces of
 *    the vocabulary, "##" marking a piece that continues a word. A token that no pieces
 *    cover, or longer than `maxInputCharsPerWord` characters, becomes [UNK].
 *
 * Where transformers' Python tokenizer and its Rust one disagree we follow the Python
 * one, as bertguide/tokenizer.py does: a word-final capital sigma lower-cases to the
 * final form (JavaScript's toLowerCase applies the same Final_Sigma rule as Python's
 * str.lower, a word at a time); `longest_first` truncation of a pair takes the odd
 * token from the second sequence; `decode` removes the space before . , ! ? and
 * inside n't 'm 's 've 're over the whole string.
 *
 * JavaScript strings are UTF-16: every loop here walks code points (`for...of`,
 * `Array.from`), as Python's str does, so emoji and other astral characters count as
 * one character each.
 *
 * The character classes come from the JavaScript engine's Unicode tables, those of
 * the Python tokenizer from Python's `unicodedata`, and the two Unicode versions can
 * differ. Python 3.11 (Unicode 14.0) and Node 20.20 (Unicode 17.0) treat 15,098 code
 * points differently: 15,097 characters assigned since Unicode 14 (letters, marks,
 * punctuation, CJK ideographs, emoji), which Python deletes as unassigned (category
 * Cn) and JavaScript keeps, and U+1171E AHOM CONSONANT SIGN MEDIAL RA, a nonspacing
 * mark (Mn) that Python strips and that Unicode 15 made a spacing mark (Mc), kept here.
 * No line of the offline corpora holds one of them; the test shows both kinds on a
 * named example. Each browser likewise follows its own Unicode version.
 *
 * Left out: padding and batches (the Playground encodes one text at a time), offsets,
 * overflowing tokens, added (user-defined) tokens, vocabulary training, and
 * `doBasicTokenize: false`.
 */

export const SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
export const TRUNCATION_STRATEGIES = [
  "longest_first",
  "only_first",
  "only_second",
  "do_not_truncate",
];

// ---------------------------------------------------------------------------
// characters: what BERT calls control, whitespace, CJK and punctuation

// NUL, U+FFFD and category C* (Cc control, Cf format, Cn unassigned, Co private use,
// Cs lone surrogate), except tab, newline and carriage return: deleted.
const REMOVED = /[\0\uFFFD]|(?![\t\n\r])\p{C}/gu;
// Tab, newline, carriage return and the space separators (Zs): one space each.
const WHITESPACE = /[\t\n\r\p{Zs}]/gu;
// The CJK Unified Ideographs blocks and their compatibility blocks: the same code
// points as CJK_RANGES in bertguide's basic tokenizer. Kana and hangul are not in them.
export const CJK_RANGES = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];
const hex = (cp) => `\\u{${cp.toString(16)}}`;
const CJK = new RegExp(`[${CJK_RANGES.map(([lo, hi]) => `${hex(lo)}-${hex(hi)}`).join("")}]`, "gu");
// Every printable ASCII character that is not a letter or digit ($ + < = > ^ ` | ~ too),
// and Unicode punctuation (P*).
const PUNCTUATION = /^(?:[!-/:-@[-`{-~]|\p{P})$/u;
const NONSPACING_MARK = /\p{Mn}/gu;
// After cleaning, the only whitespace left is the space and the line and paragraph
// separators U+2028 and U+2029 (categories Zl, Zp): Python's str.split() splits on all
// three, and so does \s.
const WORD_BOUNDARY = /\s+/u;
// Special tokens written in the text are cut out before anything else ("the[MASK].").
const SPECIAL_IN_TEXT = /(\[PAD\]|\[UNK\]|\[CLS\]|\[SEP\]|\[MASK\])/;

/** True for a punctuation character: isPunctuation(",") === true, isPunctuation("a") === false. */
export function isPunctuation(char) {
  return PUNCTUATION.test(char);
}

/** Decompose (NFD), then drop the combining marks: stripAccents("café") === "cafe". */
export function stripAccents(text) {
  return text.normalize("NFD").replace(NONSPACING_MARK, "");
}

/**
 * The contents of a vocab.txt (one token a line, the line number is the id) -> Map.
 *
 *     loadVocab("[PAD]\n[UNK]\nhello\n").get("hello") === 2
 *
 * Lines end with \n, \r\n or \r, as Python reads a text file; a final newline does not
 * start another token.
 */
export function loadVocab(text) {
  if (typeof text !== "string") {
    throw new TypeError(`text must be the contents of vocab.txt (a string), got ${typeName(text)}`);
  }
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  const vocab = new Map();
  lines.forEach((token, id) => vocab.set(token, id));
  return vocab;
}

// ---------------------------------------------------------------------------
// the tokenizer

export class WordPieceTokenizer {
  /**
   * @param {Map<string, number>} vocab token -> id, as loadVocab gives it
   * @param {object} [options] the fields of tokenizer.py's WordPieceTokenizer, camelCased
   */
  constructor(
    vocab,
    {
      doLowerCase = true,
      stripAccents = null, // null: follow doLowerCase, as in the original BERT
      tokenizeChineseChars = true,
      maxInputCharsPerWord = 100,
      modelMaxLength = 512,
      cacheSize = 1 << 17,
    } = {},
  ) {
    if (!(vocab instanceof Map)) {
      throw new TypeError(
        `vocab must be a Map of token -> id (see loadVocab), got ${typeName(vocab)}`,
      );
    }
    const missing = SPECIAL_TOKENS.filter((t) => !vocab.has(t));
    if (missing.length) {
      throw new RangeError(`vocab lacks the special token(s) ${missing.join(", ")}`);
    }
    checkInt("maxInputCharsPerWord", maxInputCharsPerWord, 1);
    checkInt("modelMaxLength", modelMaxLength, 2);
    this.vocab = new Map(vocab);
    this.idsToTokens = new Map();
    for (const [token, id] of this.vocab) this.idsToTokens.set(id, token);
    if (this.idsToTokens.size !== this.vocab.size) {
      throw new RangeError("vocab maps two tokens to the same id");
    }
    this.doLowerCase = doLowerCase;
    this.stripAccents = stripAccents;
    this.tokenizeChineseChars = tokenizeChineseChars;
    this.maxInputCharsPerWord = maxInputCharsPerWord;
    this.modelMaxLength = modelMaxLength;
    [this.padToken, this.unkToken, this.clsToken, this.sepToken, this.maskToken] = SPECIAL_TOKENS;
    this.padTokenId = this.vocab.get(this.padToken);
    this.unkTokenId = this.vocab.get(this.unkToken);
    this.clsTokenId = this.vocab.get(this.clsToken);
    this.sepTokenId = this.vocab.get(this.sepToken);
    this.maskTokenId = this.vocab.get(this.maskToken);
    this.allSpecialIds = new Set(SPECIAL_TOKENS.map((t) => this.vocab.get(t)));
    // No piece is longer than this, so WordPiece need not try longer substrings.
    this.longestPiece = 0;
    for (const token of this.vocab.keys()) {
      const piece = token.startsWith("##") ? token.slice(2) : token;
      this.longestPiece = Math.max(this.longestPiece, Array.from(piece).length);
    }
    this.cacheSize = cacheSize;
    this.cache = new Map(); // word of cleaned text -> its pieces
  }

  get vocabSize() {
    return this.vocab.size;
  }

  // --- the basic tokenizer ----------------------------------------------------

  /** Drop control characters, whitespace -> " ", spaces around CJK ideographs. */
  clean(text) {
    // The three classes are disjoint, so three passes equal Python's one translate().
    text = text.replace(REMOVED, "").replace(WHITESPACE, " ");
    return this.tokenizeChineseChars ? text.replace(CJK, " $& ") : text;
  }

  /** One word -> its NFC, lower-cased, accent-free form: normalize("Café") === "cafe". */
  normalize(word) {
    word = word.normalize("NFC");
    if (this.doLowerCase) {
      // A whole word at a time, so a word-final "Σ" becomes "ς", as in Python.
      word = word.toLowerCase();
      if (this.stripAccents !== false) word = stripAccents(word);
    } else if (this.stripAccents) {
      word = stripAccents(word);
    }
    return word;
  }

  /** "hello,world!" -> ["hello", ",", "world", "!"] */
  splitOnPunctuation(word) {
    const pieces = [];
    let current = "";
    for (const char of word) {
      if (isPunctuation(char)) {
        if (current) pieces.push(current);
        pieces.push(char);
        current = "";
      } else {
        current += char;
      }
    }
    if (current) pieces.push(current);
    return pieces;
  }

  /** Cleaned text -> its whitespace-separated words. */
  words(cleaned) {
    return cleaned.split(WORD_BOUNDARY).filter((word) => word !== "");
  }

  /** One word of cleaned text -> its basic tokens; a special token stays whole. */
  splitWord(word) {
    // A word can be a special token only once cleaned: "[MA\u200bSK]" -> "[MASK]".
    if (SPECIAL_TOKENS.includes(word)) return [word];
    return this.splitOnPunctuation(this.normalize(word));
  }

  /** Text -> the basic tokens: basicTokenize(" Hello,World! ") -> ["hello", ",", "world", "!"] */
  basicTokenize(text) {
    checkText("text", text);
    return this.words(this.clean(text)).flatMap((word) => this.splitWord(word));
  }

  // --- WordPiece --------------------------------------------------------------

  /** Greedy longest-match-first split of one basic token: "unaffable" -> pieces. */
  wordpiece(token) {
    const chars = Array.from(token); // code points, as Python indexes a str
    if (chars.length > this.maxInputCharsPerWord) return [this.unkToken];
    const pieces = [];
    let start = 0;
    while (start < chars.length) {
      let end = Math.min(chars.length, start + this.longestPiece);
      let piece = null;
      for (; end > start; end--) {
        const candidate = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
        if (this.vocab.has(candidate)) {
          piece = candidate;
          break;
        }
      }
      if (piece === null) return [this.unkToken]; // no piece starts here: the word is unknown
      pieces.push(piece);
      start = end;
    }
    return pieces;
  }

  // One word of cleaned text -> all its pieces, computed once per distinct word.
  wordPieces(word) {
    let pieces = this.cache.get(word);
    if (pieces === undefined) {
      const tokens = this.splitWord(word);
      pieces = tokens.flatMap((t) => (SPECIAL_TOKENS.includes(t) ? [t] : this.wordpiece(t)));
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(word, pieces);
    }
    return pieces;
  }

  /** "Unaffable!" -> ["una", "##ffa", "##ble", "!"] (no special tokens added). */
  tokenize(text) {
    checkText("text", text);
    const out = [];
    // String.split with a capturing group keeps the separators: odd indices are the
    // special tokens written in the text, as in Python's re.split.
    text.split(SPECIAL_IN_TEXT).forEach((part, i) => {
      if (i % 2 === 1) out.push(part);
      else for (const word of this.words(this.clean(part))) out.push(...this.wordPieces(word));
    });
    return out;
  }

  /** Token(s) -> id(s); a token not in the vocabulary gives the id of [UNK]. */
  convertTokensToIds(tokens) {
    if (typeof tokens === "string") return this.vocab.get(tokens) ?? this.unkTokenId;
    return tokens.map((t) => this.vocab.get(t) ?? this.unkTokenId);
  }

  /** Id(s) -> token(s): convertIdsToTokens([101, 102]) -> ["[CLS]", "[SEP]"]. */
  convertIdsToTokens(ids) {
    if (typeof ids === "number") return this.idToToken(ids);
    return Array.from(ids, (id) => this.idToToken(id));
  }

  idToToken(id) {
    if (!Number.isInteger(id)) throw new TypeError(`ids must hold integers, got ${typeName(id)}`);
    const token = this.idsToTokens.get(id);
    if (token === undefined) {
      throw new RangeError(`id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
    }
    return token;
  }

  // --- tokens -> model inputs -------------------------------------------------

  // Cut ids (and pair) so that, with nSpecial special tokens, they fit maxLength.
  truncate(ids, pair, strategy, maxLength, nSpecial) {
    if (maxLength <= nSpecial) {
      throw new RangeError(
        `maxLength=${maxLength} leaves no room for text: the special tokens alone take ` +
          `${nSpecial}; pass maxLength >= ${nSpecial + 1}`,
      );
    }
    const excess = ids.length + (pair ? pair.length : 0) + nSpecial - maxLength;
    if (excess <= 0) return [ids, pair];
    if (pair === null && strategy === "only_second") {
      throw new RangeError("truncation 'only_second' needs a textPair");
    }
    if (pair === null || strategy === "only_first") {
      if (excess >= ids.length) {
        throw new RangeError(
          `the first sequence has ${ids.length} tokens, too few to remove ${excess}; ` +
            `use truncation 'longest_first' or a larger maxLength`,
        );
      }
      return [ids.slice(0, ids.length - excess), pair];
    }
    if (strategy === "only_second") {
      if (excess >= pair.length) {
        throw new RangeError(
          `the second sequence has ${pair.length} tokens, too few to remove ${excess}; ` +
            `use truncation 'longest_first' or a larger maxLength`,
        );
      }
      return [ids, pair.slice(0, pair.length - excess)];
    }
    // longest_first: remove one token at a time from the longer sequence, from the
    // second on a tie. In one step: even out the lengths, then share the rest, the
    // second sequence giving up the odd token (62 + 63 -> 63 + 62 for a budget of 125).
    let [nFirst, nSecond] = [ids.length, pair.length];
    const evenOut = Math.min(Math.abs(nFirst - nSecond), excess);
    const shared = excess - evenOut;
    if (nFirst > nSecond) nFirst -= evenOut;
    else nSecond -= evenOut;
    nFirst -= Math.floor(shared / 2);
    nSecond -= shared - Math.floor(shared / 2);
    return [ids.slice(0, nFirst), pair.slice(0, nSecond)];
  }

  /**
   * Text (and an optional pair) -> the model's inputs, each T long:
   * [CLS] text [SEP] (pair [SEP]), tokenTypeIds 0 for the first part, 1 for the pair.
   *
   *     tok.encode("hello world").inputIds          // [101, 7592, 2088, 102]
   *     tok.encode("a b c", "d e", { truncation: true, maxLength: 6 }).tokens
   *     // ["[CLS]", "a", "b", "[SEP]", "d", "[SEP]"]
   *
   * truncation: false (the default; more than modelMaxLength tokens is an error),
   * true or "longest_first", "only_first", "only_second". maxLength defaults to
   * modelMaxLength when truncating.
   */
  encode(
    text,
    textPair = null,
    { addSpecialTokens = true, truncation = false, maxLength = null } = {},
  ) {
    checkText("text", text);
    if (textPair !== null && textPair !== undefined) checkText("textPair", textPair);
    else textPair = null;
    if (truncation === true) truncation = "longest_first";
    else if (truncation === false || truncation === null) truncation = "do_not_truncate";
    if (!TRUNCATION_STRATEGIES.includes(truncation)) {
      throw new RangeError(
        `truncation must be true, false or one of ${TRUNCATION_STRATEGIES.join(", ")}; ` +
          `got ${JSON.stringify(truncation)}`,
      );
    }
    if (maxLength !== null && maxLength !== undefined) checkInt("maxLength", maxLength, 1);
    else if (truncation !== "do_not_truncate") maxLength = this.modelMaxLength;

    let ids = this.convertTokensToIds(this.tokenize(text));
    let pair = textPair === null ? null : this.convertTokensToIds(this.tokenize(textPair));
    const nSpecial = addSpecialTokens ? (pair === null ? 2 : 3) : 0;
    if (truncation !== "do_not_truncate") {
      [ids, pair] = this.truncate(ids, pair, truncation, maxLength, nSpecial);
    }
    const first = addSpecialTokens ? [this.clsTokenId, ...ids, this.sepTokenId] : ids;
    const second = pair === null ? [] : addSpecialTokens ? [...pair, this.sepTokenId] : pair;
    const inputIds = [...first, ...second]; // (T,)
    const tokenTypeIds = [...first.map(() => 0), ...second.map(() => 1)]; // (T,)
    if (truncation === "do_not_truncate" && inputIds.length > this.modelMaxLength) {
      throw new RangeError(
        `the sequence has ${inputIds.length} tokens, more than the model's ` +
          `modelMaxLength=${this.modelMaxLength}: pass truncation: true (and maxLength) to cut it`,
      );
    }
    return {
      inputIds,
      tokenTypeIds,
      attentionMask: inputIds.map(() => 1), // (T,) no padding, so every position counts
      tokens: this.convertIdsToTokens(inputIds),
    };
  }

  // --- ids -> text ------------------------------------------------------------

  /**
   * Ids -> text: pieces joined by spaces, "##" glued on, spaces before punctuation
   * removed. decode([101, 7592, 1010, 2088, 102]) === "[CLS] hello, world [SEP]"
   */
  decode(ids, { skipSpecialTokens = false, cleanUpTokenizationSpaces = true } = {}) {
    if (typeof ids === "number") ids = [ids];
    if (ids === null || typeof ids !== "object" || typeof ids[Symbol.iterator] !== "function") {
      throw new TypeError(`ids must be an array of integers, got ${typeName(ids)}`);
    }
    const tokens = Array.from(ids)
      .filter((id) => !(skipSpecialTokens && this.allSpecialIds.has(id)))
      .map((id) => this.idToToken(id));
    let text = tokens.join(" ").replaceAll(" ##", "").trim();
    if (cleanUpTokenizationSpaces) {
      for (const [before, after] of CLEANUPS) text = text.replaceAll(before, after);
    }
    return text;
  }
}

const CLEANUPS = [
  [" .", "."],
  [" ?", "?"],
  [" !", "!"],
  [" ,", ","],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

function typeName(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "Array";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}

function checkText(name, text) {
  if (typeof text !== "string") {
    throw new TypeError(`${name} must be a string, got ${typeName(text)}`);
  }
}

function checkInt(name, value, minimum) {
  if (!Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${typeName(value)}`);
  }
  if (value < minimum) throw new RangeError(`${name} must be >= ${minimum}, got ${value}`);
}
