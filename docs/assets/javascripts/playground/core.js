/**
 * What the Playground page and the chapters' small widgets share: DOM helpers, the
 * onnxruntime-web engine (loaded once per page), and `Model`, one ONNX file written by
 * bertguide (its manifest, the tokenizer, the session, and what its outputs mean).
 *
 * Two kinds of file, each with a JSON manifest next to it in figures/:
 *
 * - playground-model.onnx (bertguide/playground.py): the embedded BertModel; outputs
 *   every layer's attention weights and hidden states. `run(encoding)` reads them and
 *   `similarity(a, b, word)` compares one word's vectors in two sentences.
 * - playground-heads.onnx (bertguide/playground_heads.py): the restored MLM and NSP
 *   heads; outputs the top-k tokens at each [MASK] and P(IsNext). `fillMask(text)` and
 *   `nextSentence(a, b)` read them.
 *
 * The engine runs on WebAssembly with ONE thread: threads need SharedArrayBuffer, which a
 * browser grants only to a cross-origin-isolated page, and a static host such as GitHub
 * Pages cannot send the headers that isolate it. Nothing heavy is fetched until a
 * reader asks: the vocabulary (0.2 MB) when a widget first needs tokens, the engine and a
 * model when the reader presses the button that states their size. Everything comes
 * from this site.
 *
 * Shapes: one sequence at a time (B = 1); T = tokens, N = heads, L = layers, C = hidden
 * size, M = [MASK] tokens, k = candidates per [MASK]. attentions[l] is a Float32Array of
 * N * T * T (head, row, column) and hidden[l] of T * C, laid out as the ONNX outputs are.
 */

const ENGINE = new URL("../../vendor/onnxruntime-web/", import.meta.url);
const ENGINE_MODULE = new URL("ort.wasm.min.mjs", ENGINE);
const ENGINE_WASM = new URL("ort-wasm-simd-threaded.wasm", ENGINE);
export const DEBOUNCE_MS = 250;
const SVG_NS = "http://www.w3.org/2000/svg";

// ---------------------------------------------------------------------------
// small helpers

/** el("p", { class: "x" }, "text", child) -> an element with attributes and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

export function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

export const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
export const fixed = (x, digits = 2) => x.toFixed(digits);

export function debounce(fn, ms = DEBOUNCE_MS) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Fetch url into one Uint8Array, calling onBytes(n) as chunks arrive. */
async function fetchBytes(url, onBytes = () => {}) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(value.length);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** The size a HEAD request announces, or null (unknown, or compressed in transit). */
async function headSize(url) {
  try {
    const response = await fetch(url, { method: "HEAD" });
    const size = Number(response.headers.get("Content-Length"));
    return response.ok && size > 0 && !response.headers.get("Content-Encoding") ? size : null;
  } catch {
    return null;
  }
}

/** cos(a, b) of two equal-length vectors. */
export function cosine(a, b) {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Where the token list `pieces` first occurs in `tokens` (skipping [CLS]): an index or -1. */
export function findPieces(tokens, pieces) {
  if (!pieces.length) return -1;
  for (let start = 1; start + pieces.length <= tokens.length; start++) {
    if (pieces.every((piece, k) => tokens[start + k] === piece)) return start;
  }
  return -1;
}

/** A CSS colour (var() and all) as the browser resolves it, read from a probe element. */
export function resolvedColor(host, css) {
  const probe = el("span", { style: `color: ${css}; display: none` });
  host.append(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color;
}

/** The page's colours, as a canvas needs them (they follow the light/dark scheme). */
export function schemeColors(host) {
  return {
    background: resolvedColor(host, "var(--md-default-bg-color)"),
    accent: resolvedColor(host, "var(--md-accent-fg-color)"),
    text: resolvedColor(host, "var(--md-default-fg-color)"),
  };
}

// ---------------------------------------------------------------------------
// the engine: one per page, whichever file asks first

let engineSizePromise = null;
let enginePromise = null;
let engineReady = false;

/** The engine's size in bytes (a HEAD request, once), or null when the server hides it. */
export function engineSize() {
  engineSizePromise ??= headSize(ENGINE_WASM);
  return engineSizePromise;
}

/** Import onnxruntime-web and fetch its WebAssembly (once); onBytes(n) as they arrive. */
function loadEngine(onBytes) {
  enginePromise ??= Promise.all([import(ENGINE_MODULE.href), fetchBytes(ENGINE_WASM, onBytes)])
    .then(([ort, wasm]) => {
      ort.env.wasm.numThreads = 1; // no cross-origin isolation on a static host
      ort.env.wasm.proxy = false;
      ort.env.wasm.wasmPaths = ENGINE.href; // the loader (.mjs) comes from this site too
      ort.env.wasm.wasmBinary = wasm.buffer; // already fetched, for the progress bar
      engineReady = true;
      return ort;
    })
    .catch((error) => {
      enginePromise = null; // let the reader try again
      throw error;
    });
  return enginePromise;
}

// ---------------------------------------------------------------------------
// one model file

const vocabularies = new Map(); // url -> Promise of a WordPieceTokenizer: one per page

export class Model {
  /**
   * manifestUrl: the file's JSON manifest. vocabManifestUrl: the manifest that names the
   * vocabulary (playground-model.json; the heads' manifest has none of its own).
   */
  constructor(manifestUrl, vocabManifestUrl = manifestUrl) {
    this.manifestUrl = new URL(manifestUrl, document.baseURI);
    this.vocabManifestUrl = new URL(vocabManifestUrl, document.baseURI);
    this.manifest = null;
    this.tokenizer = null;
    this.session = null;
    this.ort = null;
    this.engineBytes = null; // the engine's size, when the server says it
    this.queue = Promise.resolve(); // one run at a time: a session is not re-entrant
    this.loadPromise = null;
  }

  fileUrl(name) {
    return new URL(name, this.manifestUrl);
  }

  async readManifest() {
    const response = await fetch(this.manifestUrl);
    if (!response.ok) throw new Error(`${this.manifestUrl}: HTTP ${response.status}`);
    this.manifest = await response.json();
    this.engineBytes = await engineSize();
    return this.manifest;
  }

  get layers() {
    return this.manifest.num_hidden_layers;
  }

  get heads() {
    return this.manifest.num_attention_heads;
  }

  /** Bytes the button must announce: the file, and the engine unless it is in already. */
  get downloadBytes() {
    return this.manifest.bytes + (engineReady ? 0 : (this.engineBytes ?? 0));
  }

  /** "Load the model (24.2 MB + the 11.6 MB engine)": what pressing the button fetches. */
  buttonLabel(what = "the model") {
    const engine = engineReady
      ? ")"
      : this.engineBytes
        ? ` + the ${megabytes(this.engineBytes)} engine)`
        : " + the WebAssembly engine)";
    return `Load ${what} (${megabytes(this.manifest.bytes)}${engine}`;
  }

  /** Fetch the vocabulary (once per page) and build the tokenizer. */
  async loadTokenizer() {
    if (this.tokenizer) return this.tokenizer;
    const key = this.vocabManifestUrl.href;
    if (!vocabularies.has(key)) {
      const made = (async () => {
        // the tokenizer's code too comes when it is needed: a page starts lighter
        const { loadVocab, WordPieceTokenizer } = await import("./wordpiece.js");
        const response = await fetch(this.vocabManifestUrl);
        if (!response.ok) throw new Error(`${this.vocabManifestUrl}: HTTP ${response.status}`);
        const manifest = await response.json();
        const vocab = await fetch(new URL(manifest.vocab, this.vocabManifestUrl));
        if (!vocab.ok) throw new Error(`vocabulary: HTTP ${vocab.status}`);
        return new WordPieceTokenizer(loadVocab(await vocab.text()), {
          doLowerCase: manifest.do_lower_case,
        });
      })();
      made.catch(() => vocabularies.delete(key)); // let the reader try again
      vocabularies.set(key, made);
    }
    this.tokenizer = await vocabularies.get(key);
    return this.tokenizer;
  }

  /** Engine + model (once); onProgress(received, total) while they download. */
  load(onProgress = () => {}) {
    this.loadPromise ??= (async () => {
      const total = this.downloadBytes;
      let received = 0;
      const progress = (n) => onProgress((received += n), total);
      const [ort, model] = await Promise.all([
        loadEngine(progress),
        fetchBytes(this.fileUrl(this.manifest.model), progress),
        this.loadTokenizer(),
      ]);
      this.ort = ort;
      this.session = await ort.InferenceSession.create(model, {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
      });
      return this;
    })().catch((error) => {
      this.loadPromise = null; // let the reader try again
      throw error;
    });
    return this.loadPromise;
  }

  /** Text (and pair) -> encoding cut to the manifest's max_length, with `truncated`
   * and `fullLength` (the tokens there would be without the cut). */
  encode(text, pair = null) {
    const tok = this.tokenizer;
    pair = pair && pair.trim() ? pair : null;
    const maxLength = this.manifest.max_length;
    const full = tok.tokenize(text).length + (pair ? tok.tokenize(pair).length + 3 : 2);
    const encoding = tok.encode(text, pair, { truncation: true, maxLength });
    return { ...encoding, text, pair, truncated: full > maxLength, fullLength: full };
  }

  /** One encoding through the session -> { outputs (by name), ms }, one run at a time;
   * `fetches`: the outputs to compute (default: all). */
  infer(encoding, fetches = undefined) {
    const job = this.queue.then(async () => {
      const T = encoding.inputIds.length;
      const tensor = (values) =>
        new this.ort.Tensor(
          "int64",
          BigInt64Array.from(values, (v) => BigInt(v)),
          [1, T],
        );
      const feeds = {
        input_ids: tensor(encoding.inputIds),
        attention_mask: tensor(encoding.attentionMask),
        token_type_ids: tensor(encoding.tokenTypeIds),
      };
      const start = performance.now();
      const outputs = await (fetches ? this.session.run(feeds, fetches) : this.session.run(feeds));
      return { outputs, ms: performance.now() - start };
    });
    this.queue = job.catch(() => {});
    return job;
  }

  // --- playground-model.onnx: the encoder ----------------------------------------------

  /** One encoding through the encoder -> { ...encoding, T, attentions, hidden, ms }. */
  async run(encoding) {
    const { outputs, ms } = await this.infer(encoding);
    const attentions = []; // L of (N * T * T)
    const hidden = []; // L + 1 of (T * C)
    for (let l = 0; l < this.layers; l++) attentions.push(outputs[`attentions.${l}`].data);
    for (let l = 0; l <= this.layers; l++) hidden.push(outputs[`hidden_states.${l}`].data);
    return { ...encoding, T: encoding.inputIds.length, attentions, hidden, ms };
  }

  /** Cosine similarity of `word` in sentences a and b, after each layer (L + 1 values). */
  async similarity(a, b, word) {
    const pieces = this.tokenizer.tokenize(word.trim());
    if (!pieces.length) throw new Error("Type a word to compare.");
    const results = await Promise.all([a, b].map((s) => this.run(this.encode(s))));
    const positions = results.map((r, k) => {
      const at = findPieces(r.tokens, pieces);
      if (at < 0) {
        const which = k === 0 ? "first" : "second";
        const shown = `‘${word.trim()}’ (${pieces.join(" ")})`;
        throw new Error(`${shown} is not in the ${which} sentence.`);
      }
      return at;
    });
    const C = this.manifest.hidden_size;
    const mean = (hidden, at) => {
      const v = new Float32Array(C);
      for (let k = 0; k < pieces.length; k++) {
        const row = tokenVector(hidden, C, at + k);
        for (let c = 0; c < C; c++) v[c] += row[c] / pieces.length;
      }
      return v;
    };
    const cosines = results[0].hidden.map((h, l) =>
      cosine(mean(h, positions[0]), mean(results[1].hidden[l], positions[1])),
    );
    return { word: word.trim(), pieces, positions, cosines };
  }

  // --- playground-heads.onnx: the MLM and NSP heads ------------------------------------

  /** Text with [MASK]s -> { ...encoding, masks: [{ position, candidates: [{ token, id,
   * probability }] (k, most likely first) }] (M), isNext, ms }. */
  async runHeads(encoding) {
    const maskId = this.tokenizer.vocab.get(this.manifest.mask_token);
    const positions = encoding.inputIds.flatMap((id, i) => (id === maskId ? [i] : []));
    const { outputs, ms } = await this.infer(encoding);
    // (1 + M) rows of k: [CLS]'s first (it keeps the rows from being empty), then each [MASK]
    const ids = outputs["fill_mask.ids"].data; // BigInt64Array
    const probs = outputs["fill_mask.probs"].data;
    const k = this.manifest.top_k;
    const masks = positions.map((position, m) => ({
      position,
      candidates: Array.from({ length: k }, (_, r) => {
        const at = (m + 1) * k + r;
        const id = Number(ids[at]);
        return { id, token: this.tokenizer.idToToken(id), probability: probs[at] };
      }),
    }));
    return { ...encoding, masks, isNext: outputs.is_next.data[0], ms };
  }

  /** The top-k tokens at each [MASK] of `text`. */
  fillMask(text) {
    return this.runHeads(this.encode(text));
  }

  /** P(IsNext): does sentence b follow sentence a? */
  async nextSentence(a, b) {
    if (!a.trim() || !b.trim()) throw new Error("Type two sentences.");
    return (await this.runHeads(this.encode(a, b))).isNext;
  }
}

// ---------------------------------------------------------------------------
// reading the encoder's outputs

/** Row `i` of head `head` in one layer's weights: what token i looks at, (T,). */
export function attentionRow(weights, T, head, i) {
  const start = (head * T + i) * T;
  return weights.subarray(start, start + T);
}

/** The vector of token `i` in one hidden state (T * C), (C,). */
export function tokenVector(hidden, C, i) {
  return hidden.subarray(i * C, (i + 1) * C);
}

const SPECIAL = new Set(["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"]);
export const isWordLike = (token) => !SPECIAL.has(token) && /[\p{L}\p{N}]/u.test(token);

// A noun, for the "it" exercise, is a word right after one of these: no tagger runs
// in the page, and the nouns a pronoun can stand for mostly come with one.
export const DETERMINERS = new Set(
  "the a an this that these those his her its their my your our".split(" "),
);

/** The tokens the "it" exercise takes for nouns: word-like, after a determiner, not i. */
export function nounsOf(tokens, i) {
  return tokens
    .map((token, j) => j)
    .filter(
      (j) =>
        j > 0 && j !== i && isWordLike(tokens[j]) && DETERMINERS.has(tokens[j - 1].toLowerCase()),
    );
}

/**
 * Over every layer and head: the head where token i gives the largest share of its
 * attention to the sentence's nouns (nounsOf), summed over them. A sentence without
 * one falls back to every other word (not [CLS], [SEP] or punctuation). Returns
 * { layer, head, total, nouns: bool, links: [{ to, weight }] largest first } or null.
 */
export function strongestNounLink(result, i, layers, heads) {
  let targets = nounsOf(result.tokens, i);
  const nouns = targets.length > 0;
  if (!nouns) targets = result.tokens.map((t, j) => j).filter((j) => j !== i && isWordLike(result.tokens[j]));
  if (!targets.length) return null;
  let best = null;
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const row = attentionRow(result.attentions[l], result.T, h, i);
      // without nouns, the one word it looks at most; with them, their sum
      const total = nouns
        ? targets.reduce((sum, j) => sum + row[j], 0)
        : Math.max(...targets.map((j) => row[j]));
      if (!best || total > best.total) best = { layer: l, head: h, total, row };
    }
  }
  const links = targets
    .map((to) => ({ to, weight: best.row[to] }))
    .sort((a, b) => b.weight - a.weight);
  return { layer: best.layer, head: best.head, total: best.total, nouns, links };
}

// ---------------------------------------------------------------------------
// the download button, its progress bar and its status line

/**
 * A button that states what it downloads, a progress bar, a status line. `start()`
 * downloads `model` (once) and resolves when it is ready; `element` holds them all.
 *
 *     const loader = new Loader(model, "the model");
 *     root.append(loader.element);
 *     await loader.ready();   // after readManifest(): the label states the size
 */
export class Loader {
  constructor(model, what = "the model") {
    this.model = model;
    this.what = what;
    this.button = el("button", {
      type: "button",
      class: "md-button md-button--primary",
      disabled: true,
    });
    this.button.textContent = `Load ${what}`;
    this.progress = el("progress", { value: 0, max: 1, hidden: true, "aria-label": "download" });
    this.status = el("p", { class: "bg-pg-status", role: "status", tabindex: "-1" });
    this.element = el(
      "div",
      {},
      el("div", { class: "bg-pg-load" }, this.button, this.progress),
      this.status,
    );
    this.loading = null;
    this.clickedAt = null;
  }

  /** The manifest is in: state the size and enable the button. */
  ready() {
    this.button.textContent = this.model.buttonLabel(this.what);
    this.button.disabled = false;
    this.status.textContent = "Nothing is downloaded until you press the button.";
  }

  fail(message) {
    this.status.textContent = message;
    this.status.classList.add("bg-pg-error");
  }

  /** Download (once); resolves with the model, or rejects after saying why. */
  start() {
    this.loading ??= this.startOnce().catch((error) => {
      this.loading = null; // the button stays, to try again
      throw error;
    });
    return this.loading;
  }

  async startOnce() {
    this.clickedAt = performance.now();
    this.button.disabled = true;
    this.progress.hidden = false;
    this.status.classList.remove("bg-pg-error");
    this.status.textContent = `Downloading ${this.what}…`;
    try {
      await this.model.load((received, total) => {
        this.progress.max = total || 1;
        this.progress.value = Math.min(received, total || received);
        const shown = total ? ` of ${megabytes(total)}` : "";
        this.status.textContent = `Downloading: ${megabytes(received)}${shown}`;
      });
    } catch (error) {
      this.button.disabled = false;
      this.progress.hidden = true;
      this.fail(`The model did not load: ${error.message}`);
      throw error;
    }
    this.progress.hidden = true;
    this.button.hidden = true;
    const seconds = ((performance.now() - this.clickedAt) / 1000).toFixed(1);
    this.status.textContent = `Ready (${megabytes(this.model.manifest.bytes)}, ${seconds} s).`;
    return this.model;
  }
}
