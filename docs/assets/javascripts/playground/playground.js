/**
 * The Playground: BERT on the reader's own sentence, computed in the reader's browser.
 *
 * docs/playground.md holds an empty <div data-bertguide-playground>; this ES module fills
 * it with an input (a sentence, or a pair), a button that downloads the model, and the
 * panels of PANELS:
 *
 * - tokens: the WordPiece tokens and ids (wordpiece.js), shown as soon as the vocabulary
 *   is in; no model needed;
 * - attention: one layer's and head's attention weights as a heatmap (row = the token
 *   that looks, column = the token looked at) and as a head view (lines from each token to
 *   the tokens it looks at; hover a token, or click or focus it, to keep only its lines);
 * - similarity: the cosine similarity of one word's vectors in two sentences, layer by layer.
 *
 * The model is bertguide's own BertModel exported to ONNX by bertguide/playground.py
 * (int8 weights, float32 arithmetic), which also writes a manifest next to it
 * (figures/playground-model.json: files, sizes, names, measured differences from
 * PyTorch). onnxruntime-web runs it on WebAssembly with ONE thread: threads need
 * SharedArrayBuffer, which a browser grants only to a cross-origin-isolated page, and
 * a static host such as GitHub Pages cannot send the headers that isolate it.
 *
 * What is downloaded, and when: on page load only this module, wordpiece.js, the manifest
 * (a few kB) and a HEAD request for the engine's size; the vocabulary (0.2 MB) when the
 * reader first focuses a control of the Playground (a text box, the button); the engine
 * and the model when the reader presses the button that states their size. Everything
 * comes from this site.
 *
 * Shapes: one sequence at a time (B = 1); T = tokens, N = heads, L = layers, C = hidden
 * size. attentions[l] is a Float32Array of N * T * T (head, row, column) and hidden[l] of
 * T * C, laid out as the ONNX outputs are.
 *
 * window.bertguidePlayground exposes the state for tests and the curious: `last` (the
 * result drawn: tokens, ids, attentions, hidden states), `timings`, `load()`,
 * `run(text, pair)` and `similarity(a, b, word)`. The root element carries
 * data-state ("idle", "loading", "ready", "error") and data-runs (results drawn).
 *
 * Adding a panel (fill-mask and next-sentence, once the exported graph has the MLM and
 * NSP heads): write an object like the three in PANELS, add it there, and list its name
 * in the manifest's "panels". The page shows only the panels the manifest names, so a
 * panel never appears before the model can fill it.
 *
 * Left out: batches (one sentence or pair at a time), WebGPU and threads, the pooler
 * output, and any model but the one the manifest names.
 */

import { loadVocab, WordPieceTokenizer } from "./wordpiece.js";

const ENGINE = new URL("../../vendor/onnxruntime-web/", import.meta.url);
const ENGINE_MODULE = new URL("ort.wasm.min.mjs", ENGINE);
const ENGINE_WASM = new URL("ort-wasm-simd-threaded.wasm", ENGINE);
const DEBOUNCE_MS = 250;
const MIN_LINE_WEIGHT = 0.01; // head view: lighter lines are not drawn
const SVG_NS = "http://www.w3.org/2000/svg";

// ---------------------------------------------------------------------------
// small helpers

/** el("p", { class: "x" }, "text", child) -> an element with attributes and children. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const fixed = (x, digits = 2) => x.toFixed(digits);

function debounce(fn, ms) {
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
function resolvedColor(host, css) {
  const probe = el("span", { style: `color: ${css}; display: none` });
  host.append(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color;
}

// ---------------------------------------------------------------------------
// the model: tokenizer, engine, session

class Model {
  constructor(manifestUrl) {
    this.manifestUrl = new URL(manifestUrl, document.baseURI);
    this.manifest = null;
    this.tokenizer = null;
    this.session = null;
    this.ort = null;
    this.engineBytes = null; // the engine's size, when the server says it
    this.queue = Promise.resolve(); // one run at a time: a session is not re-entrant
    this.vocabPromise = null;
    this.loadPromise = null;
  }

  fileUrl(name) {
    return new URL(name, this.manifestUrl);
  }

  async readManifest() {
    const response = await fetch(this.manifestUrl);
    if (!response.ok) throw new Error(`${this.manifestUrl}: HTTP ${response.status}`);
    this.manifest = await response.json();
    this.engineBytes = await headSize(ENGINE_WASM);
    return this.manifest;
  }

  get layers() {
    return this.manifest.num_hidden_layers;
  }

  get heads() {
    return this.manifest.num_attention_heads;
  }

  /** Fetch the vocabulary (once) and build the tokenizer. */
  loadTokenizer() {
    this.vocabPromise ??= fetch(this.fileUrl(this.manifest.vocab))
      .then((response) => {
        if (!response.ok) throw new Error(`vocabulary: HTTP ${response.status}`);
        return response.text();
      })
      .then((text) => {
        this.tokenizer = new WordPieceTokenizer(loadVocab(text), {
          doLowerCase: this.manifest.do_lower_case,
        });
        return this.tokenizer;
      });
    return this.vocabPromise;
  }

  /** Engine + model (once); onProgress(received, total) while they download. */
  load(onProgress = () => {}) {
    this.loadPromise ??= (async () => {
      const total = this.manifest.bytes + (this.engineBytes ?? 0);
      let received = 0;
      const progress = (n) => onProgress((received += n), total);
      const [ort, wasm, model] = await Promise.all([
        import(ENGINE_MODULE.href),
        fetchBytes(ENGINE_WASM, progress),
        fetchBytes(this.fileUrl(this.manifest.model), progress),
        this.loadTokenizer(),
      ]);
      ort.env.wasm.numThreads = 1; // no cross-origin isolation on a static host
      ort.env.wasm.proxy = false;
      ort.env.wasm.wasmPaths = ENGINE.href; // the loader (.mjs) comes from this site too
      ort.env.wasm.wasmBinary = wasm.buffer; // already fetched, for the progress bar
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

  /** Text (and pair) -> encoding cut to the manifest's max_length, with `truncated`. */
  encode(text, pair = null) {
    const tok = this.tokenizer;
    pair = pair && pair.trim() ? pair : null;
    const maxLength = this.manifest.max_length;
    const full = tok.tokenize(text).length + (pair ? tok.tokenize(pair).length + 3 : 2);
    const encoding = tok.encode(text, pair, { truncation: true, maxLength });
    return { ...encoding, text, pair, truncated: full > maxLength };
  }

  /** One encoding through the model -> { ...encoding, attentions, hidden, ms }. */
  run(encoding) {
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
      const out = await this.session.run(feeds);
      const ms = performance.now() - start;
      const attentions = []; // L of (N * T * T)
      const hidden = []; // L + 1 of (T * C)
      for (let l = 0; l < this.layers; l++) attentions.push(out[`attentions.${l}`].data);
      for (let l = 0; l <= this.layers; l++) hidden.push(out[`hidden_states.${l}`].data);
      return { ...encoding, T, attentions, hidden, ms };
    });
    this.queue = job.catch(() => {});
    return job;
  }
}

/** Row `i` of head `head` in one layer's weights: what token i looks at, (T,). */
function attentionRow(weights, T, head, i) {
  const start = (head * T + i) * T;
  return weights.subarray(start, start + T);
}

/** The vector of token `i` in one hidden state (T * C), (C,). */
function tokenVector(hidden, C, i) {
  return hidden.subarray(i * C, (i + 1) * C);
}

const SPECIAL = new Set(["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"]);
const isWordLike = (token) => !SPECIAL.has(token) && /[\p{L}\p{N}]/u.test(token);

/** Over every layer and head: where token i gives the most weight to another word. */
export function strongestLink(result, i, layers, heads) {
  let best = null;
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const row = attentionRow(result.attentions[l], result.T, h, i);
      for (let j = 0; j < result.T; j++) {
        if (j === i || !isWordLike(result.tokens[j])) continue;
        if (!best || row[j] > best.weight) best = { layer: l, head: h, to: j, weight: row[j] };
      }
    }
  }
  return best;
}

// ---------------------------------------------------------------------------
// the panels

const tokensPanel = {
  name: "tokens",
  title: "Tokens and ids",
  build(panel) {
    panel.body.append(
      el("p", { class: "bg-pg-note" }, "Tokens appear here as you type."),
      el("ol", { class: "bg-pg-tokens", "aria-label": "WordPiece tokens and their ids" }),
    );
  },
  /** Draw an encoding: needs the tokenizer only. */
  show(panel, encoding) {
    const note = panel.body.querySelector(".bg-pg-note");
    const list = panel.body.querySelector(".bg-pg-tokens");
    const pieces = encoding.tokens.filter((t) => t.startsWith("##")).length;
    note.textContent =
      `${encoding.tokens.length} tokens` +
      (encoding.pair ? " (a pair: segment 0, then segment 1)" : "") +
      (pieces ? `; ${pieces} continue a word (##)` : "") +
      (encoding.truncated ? `; cut to the first ${encoding.tokens.length}` : "") +
      ".";
    list.replaceChildren(
      ...encoding.tokens.map((token, i) =>
        el(
          "li",
          {
            class: `bg-pg-token bg-pg-seg-${encoding.tokenTypeIds[i]}`,
            "data-id": encoding.inputIds[i],
          },
          el("span", { class: "bg-pg-token-text" }, token),
          el("span", { class: "bg-pg-token-id" }, String(encoding.inputIds[i])),
        ),
      ),
    );
  },
};

const attentionPanel = {
  name: "attention",
  title: "Attention: where each token looks",
  needsModel: true,
  build(panel, app) {
    const { layers, heads } = app.model;
    const select = (id, label, count, name) =>
      el(
        "label",
        { class: "bg-pg-field bg-pg-inline", for: id },
        label,
        el(
          "select",
          { id, name },
          ...Array.from({ length: count }, (_, k) => el("option", { value: k }, String(k))),
        ),
      );
    const controls = el(
      "div",
      { class: "bg-pg-controls" },
      select("bg-pg-layer", "Layer ", layers, "layer"),
      select("bg-pg-head", "Head ", heads, "head"),
    );
    const canvas = el("canvas", { class: "bg-pg-heatmap", role: "img" });
    const hover = el("p", { class: "bg-pg-readout", "aria-live": "polite" }, "\u00a0");
    const view = el("div", { class: "bg-pg-headview" });
    const focus = el("p", { class: "bg-pg-readout bg-pg-focus", "aria-live": "polite" });
    const jump = el("button", { type: "button", class: "md-button bg-pg-jump", hidden: true });
    panel.body.append(
      controls,
      el("h3", {}, "Heatmap"),
      el(
        "p",
        { class: "bg-pg-note" },
        "Row: the token that looks; column: the token it looks at; the darker, the larger " +
          "its share of the row (each row sums to 1). Point at a cell, or tap it, to read it.",
      ),
      canvas,
      hover,
      el("h3", {}, "Head view"),
      el(
        "p",
        { class: "bg-pg-note" },
        "Each token on the left sends lines to the tokens on the right it looks at. " +
          "Hover a token to see only its lines; click it, or focus it (Tab, then the " +
          "arrow keys), to keep them; Escape shows them all again.",
      ),
      view,
      focus,
      jump,
    );
    // selected: the token clicked or focused (it stays); hovered: under the mouse (for now)
    Object.assign(panel, { canvas, hover, view, focus, jump, selected: null, hovered: null });
    for (const [id, key] of [
      ["bg-pg-layer", "layer"],
      ["bg-pg-head", "head"],
    ]) {
      panel.body.querySelector(`#${id}`).addEventListener("change", (event) => {
        app.selection[key] = Number(event.target.value);
        this.show(panel, app.last, app);
      });
    }
    // a mouse points; a finger taps
    canvas.addEventListener("mousemove", (event) => this.hoverCell(panel, app, event));
    canvas.addEventListener("click", (event) => this.hoverCell(panel, app, event));
    canvas.addEventListener("mouseleave", () => (hover.textContent = "\u00a0"));
    jump.addEventListener("click", () => {
      const link = strongestLink(app.last, panel.selected, layers, heads);
      if (!link) return;
      app.selection.layer = link.layer;
      app.selection.head = link.head;
      panel.body.querySelector("#bg-pg-layer").value = link.layer;
      panel.body.querySelector("#bg-pg-head").value = link.head;
      this.show(panel, app.last, app);
    });
  },

  show(panel, result, app) {
    if (!result) return;
    this.drawHeatmap(panel, result, app);
    this.drawHeadView(panel, result, app);
    if (panel.selected !== null && panel.selected >= result.T) panel.selected = null;
    panel.hovered = null;
    this.display(panel, result, app);
  },

  weights(result, app) {
    return result.attentions[app.selection.layer]; // (N * T * T)
  },

  drawHeatmap(panel, result, app) {
    const { canvas } = panel;
    const T = result.T;
    const weights = this.weights(result, app);
    const head = app.selection.head;
    const width = Math.max(200, Math.min(panel.body.clientWidth || 600, 640));
    const ctx = canvas.getContext("2d");
    const font = "11px system-ui, sans-serif";
    ctx.font = font;
    const longest = Math.max(...result.tokens.map((t) => ctx.measureText(t).width));
    let margin = Math.min(Math.ceil(longest) + 6, Math.floor(width * 0.3));
    let cell = (width - margin) / T;
    if (cell < 9) {
      margin = 0; // too small for labels: hover tells which tokens a cell joins
      cell = width / T;
    }
    const height = margin + cell * T;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const colors = app.colors();
    ctx.fillStyle = colors.background;
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = colors.accent;
    for (let i = 0; i < T; i++) {
      const row = attentionRow(weights, T, head, i);
      for (let j = 0; j < T; j++) {
        ctx.globalAlpha = row[j];
        ctx.fillRect(margin + j * cell, margin + i * cell, cell, cell);
      }
    }
    ctx.globalAlpha = 1;
    if (margin) {
      ctx.font = font;
      ctx.fillStyle = colors.text;
      ctx.textBaseline = "middle";
      ctx.textAlign = "right";
      result.tokens.forEach((t, i) => ctx.fillText(t, margin - 4, margin + (i + 0.5) * cell));
      // column labels read upwards, ending just above their column
      ctx.save();
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      result.tokens.forEach((t, j) => ctx.fillText(t, -(margin - 4), margin + (j + 0.5) * cell));
      ctx.restore();
    }
    Object.assign(panel, { margin, cell });
    canvas.setAttribute(
      "aria-label",
      `Heatmap of layer ${app.selection.layer}, head ${head}: ${T} rows by ${T} columns. ` +
        "The head view below reads the same weights token by token.",
    );
  },

  hoverCell(panel, app, event) {
    const result = app.last;
    if (!result || !panel.cell) return;
    const box = panel.canvas.getBoundingClientRect();
    const i = Math.floor((event.clientY - box.top - panel.margin) / panel.cell);
    const j = Math.floor((event.clientX - box.left - panel.margin) / panel.cell);
    if (i < 0 || j < 0 || i >= result.T || j >= result.T) {
      panel.hover.textContent = "\u00a0";
      return;
    }
    const w = attentionRow(this.weights(result, app), result.T, app.selection.head, i)[j];
    const [from, to] = [result.tokens[i], result.tokens[j]];
    panel.hover.textContent = `‘${from}’ (${i}) → ‘${to}’ (${j}): ${fixed(w, 3)}`;
  },

  drawHeadView(panel, result, app) {
    const T = result.T;
    const weights = this.weights(result, app);
    const head = app.selection.head;
    const rowHeight = 22;
    const side = (cls, i) =>
      el(
        "span",
        { class: `bg-pg-hv-token ${cls} bg-pg-seg-${result.tokenTypeIds[i]}` },
        result.tokens[i],
      );
    const left = el("div", {
      class: "bg-pg-hv-col",
      role: "listbox",
      "aria-label": "tokens that look",
    });
    const right = el("div", { class: "bg-pg-hv-col bg-pg-hv-right", "aria-hidden": "true" });
    const lines = svg("svg", {
      class: "bg-pg-hv-lines",
      viewBox: `0 0 100 ${T * rowHeight}`,
      preserveAspectRatio: "none", // stretched to the column: x in 0..100, y in pixels
      style: `height: ${T * rowHeight}px`,
      "aria-hidden": "true",
    });
    for (let i = 0; i < T; i++) {
      const button = el(
        "button",
        {
          type: "button",
          class: `bg-pg-hv-token bg-pg-seg-${result.tokenTypeIds[i]}`,
          role: "option",
          "aria-selected": "false",
          tabindex: i === (panel.selected ?? 0) ? 0 : -1,
          "data-index": i,
        },
        result.tokens[i],
      );
      left.append(button);
      right.append(side("", i));
      const row = attentionRow(weights, T, head, i);
      const group = svg("g", { "data-from": i });
      for (let j = 0; j < T; j++) {
        if (row[j] < MIN_LINE_WEIGHT) continue;
        group.append(
          svg("line", {
            x1: 0,
            y1: (i + 0.5) * rowHeight,
            x2: 100,
            y2: (j + 0.5) * rowHeight,
            "stroke-opacity": fixed(row[j], 3),
            "data-to": j,
            "vector-effect": "non-scaling-stroke",
          }),
        );
      }
      lines.append(group);
    }
    const grid = el("div", { class: "bg-pg-hv-grid", style: `--bg-pg-row: ${rowHeight}px` });
    grid.append(left, lines, right);
    panel.view.replaceChildren(grid);
    const index = (event) => event.target.closest("button[data-index]")?.dataset.index;
    left.addEventListener("mouseover", (event) => {
      if (index(event) === undefined) return;
      panel.hovered = Number(index(event));
      this.display(panel, result, app);
    });
    left.addEventListener("mouseleave", () => {
      panel.hovered = null; // back to the selected token, if any
      this.display(panel, result, app);
    });
    left.addEventListener("focusin", (event) => {
      if (index(event) === undefined) return;
      panel.selected = Number(index(event)); // a click focuses the button too
      this.display(panel, result, app);
    });
    left.addEventListener("keydown", (event) => {
      const current = panel.selected ?? 0;
      const next = {
        ArrowDown: Math.min(T - 1, current + 1),
        ArrowUp: Math.max(0, current - 1),
        Home: 0,
        End: T - 1,
      }[event.key];
      if (event.key === "Escape") {
        panel.selected = panel.hovered = null;
        this.display(panel, result, app);
      } else if (next !== undefined) {
        event.preventDefault();
        left.querySelector(`[data-index="${next}"]`).focus();
      }
    });
  },

  /** Keep only the hovered or selected token's lines (neither: all), say where it looks. */
  display(panel, result, app) {
    const i = panel.hovered ?? panel.selected;
    const buttons = panel.view.querySelectorAll("button[data-index]");
    buttons.forEach((b, k) => {
      b.setAttribute("aria-selected", String(k === panel.selected));
      b.tabIndex = k === (panel.selected ?? 0) ? 0 : -1;
    });
    panel.view.querySelectorAll("g[data-from]").forEach((g) => {
      g.setAttribute(
        "visibility",
        i === null || Number(g.dataset.from) === i ? "visible" : "hidden",
      );
    });
    panel.view.querySelector(".bg-pg-hv-grid")?.classList.toggle("bg-pg-hv-focused", i !== null);
    panel.view.querySelectorAll(".bg-pg-hv-right .bg-pg-hv-token").forEach((span, j) => {
      const w =
        i === null
          ? 0
          : attentionRow(this.weights(result, app), result.T, app.selection.head, i)[j];
      span.style.setProperty("--bg-pg-weight", fixed(w, 3));
    });
    // the jump button acts on the selected token, which stays when the mouse moves to it
    const selected = panel.selected === null ? null : result.tokens[panel.selected];
    panel.jump.hidden = selected === null || !isWordLike(selected);
    panel.jump.textContent = `Find the head where ‘${selected}’ looks hardest at another word`;
    if (i === null) {
      panel.focus.textContent = "";
      return;
    }
    const row = attentionRow(this.weights(result, app), result.T, app.selection.head, i);
    const top = Array.from(row, (w, j) => [w, j])
      .sort((a, b) => b[0] - a[0])
      .slice(0, 3)
      .map(([w, j]) => `‘${result.tokens[j]}’ ${fixed(w)}`);
    panel.focus.textContent =
      `Layer ${app.selection.layer}, head ${app.selection.head}: ‘${result.tokens[i]}’ ` +
      `looks most at ${top.join(", ")}.`;
  },
};

const similarityPanel = {
  name: "similarity",
  title: "One word, two sentences",
  needsModel: true,
  build(panel, app) {
    const defaults = app.root.dataset;
    const field = (id, label, value) =>
      el(
        "label",
        { class: "bg-pg-field", for: id },
        label,
        el("input", { id, type: "text", value, autocomplete: "off", spellcheck: "false" }),
      );
    const form = el(
      "div",
      { class: "bg-pg-controls bg-pg-similarity-form" },
      field("bg-pg-sim-a", "First sentence", defaults.similarA ?? ""),
      field("bg-pg-sim-b", "Second sentence", defaults.similarB ?? ""),
      field("bg-pg-sim-word", "Word", defaults.word ?? ""),
    );
    const out = el("div", { class: "bg-pg-similarity", "aria-live": "polite" });
    panel.body.append(
      el(
        "p",
        { class: "bg-pg-note" },
        "The cosine similarity of the word's vectors in the two sentences, after each layer " +
          "(a word of several pieces: the mean of its pieces' vectors). Layer 0 is the input " +
          "embedding, the same for the word wherever it stands but for its position.",
      ),
      form,
      out,
    );
    panel.out = out;
    const update = debounce(() => this.update(panel, app), DEBOUNCE_MS);
    form.addEventListener("input", update);
  },

  async update(panel, app) {
    if (!app.model.session) return;
    const value = (id) => panel.body.querySelector(`#${id}`).value;
    try {
      const result = await app.similarity(
        value("bg-pg-sim-a"),
        value("bg-pg-sim-b"),
        value("bg-pg-sim-word"),
      );
      this.show(panel, result);
    } catch (error) {
      panel.out.replaceChildren(el("p", { class: "bg-pg-error" }, error.message));
    }
  },

  show(panel, result) {
    const rows = result.cosines.map((c, l) =>
      el(
        "li",
        { "data-layer": l },
        el("span", { class: "bg-pg-sim-layer" }, l === 0 ? "embeddings" : `layer ${l - 1}`),
        el("span", { class: "bg-pg-bar", style: `--bg-pg-weight: ${fixed(Math.max(0, c), 3)}` }),
        el("span", { class: "bg-pg-sim-value" }, fixed(c, 3)),
      ),
    );
    panel.out.replaceChildren(
      el(
        "p",
        {},
        `‘${result.word}’ is ${result.pieces.map((p) => `‘${p}’`).join(" ")} ` +
          `(token ${result.positions[0]} of the first sentence, ` +
          `${result.positions[1]} of the second).`,
      ),
      el(
        "ol",
        { class: "bg-pg-sim-list", "aria-label": "cosine similarity after each layer" },
        ...rows,
      ),
    );
  },
};

/** The manifest's measurements of every variant of the file, as a table. */
function variantsTable(manifest) {
  const { variants, texts } = manifest.parity;
  const head = [
    "file",
    "stores",
    "size",
    "largest attention difference",
    "mean",
    "largest hidden-state difference",
  ];
  const rows = variants.map((v) =>
    el(
      "tr",
      { "data-variant": v.name },
      el("td", {}, v.name === manifest.variant ? `${v.name} (this page)` : v.name),
      el("td", {}, v.stores),
      el("td", {}, megabytes(v.bytes)),
      el("td", {}, v.max_attention_diff.toPrecision(2)),
      el("td", {}, v.mean_attention_diff.toPrecision(2)),
      el("td", {}, v.max_hidden_diff.toPrecision(2)),
    ),
  );
  const table = el(
    "table",
    {},
    el(
      "caption",
      {},
      `Each file against BertModel in PyTorch, on the ${texts.length} sentences of ` +
        "bertguide.playground.PARITY_TEXTS.",
    ),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows),
  );
  // Material's own wrappers: the table scrolls sideways on a narrow screen
  return el(
    "div",
    { class: "md-typeset__scrollwrap" },
    el("div", { class: "md-typeset__table" }, table),
  );
}

// Panels the page knows how to draw, by the name the manifest uses.
const PANELS = [tokensPanel, attentionPanel, similarityPanel];

// ---------------------------------------------------------------------------
// the page

class Playground {
  constructor(root) {
    this.root = root;
    this.model = new Model(root.dataset.manifest);
    this.selection = { layer: 0, head: 0 };
    this.last = null; // the result drawn
    this.panels = [];
    this.timings = { clickedAt: null, firstResultMs: null, runs: [], updates: [] };
    this.runs = 0;
    this.updates = 0; // updates asked for: only the latest one draws
    this.loading = null;
    this.setState("idle");
    this.started = this.start();
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  colors() {
    return {
      background: resolvedColor(this.root, "var(--md-default-bg-color)"),
      accent: resolvedColor(this.root, "var(--md-accent-fg-color)"),
      text: resolvedColor(this.root, "var(--md-default-fg-color)"),
    };
  }

  async start() {
    const defaults = this.root.dataset;
    this.text = el("textarea", { id: "bg-pg-text", rows: 2, spellcheck: "false" });
    this.text.value = defaults.text ?? "";
    this.pair = el("textarea", { id: "bg-pg-pair", rows: 2, spellcheck: "false" });
    this.pair.value = defaults.pair ?? "";
    this.button = el("button", {
      type: "button",
      class: "md-button md-button--primary",
      disabled: true,
    });
    this.button.textContent = "Load the model";
    this.progress = el("progress", { value: 0, max: 1, hidden: true, "aria-label": "download" });
    this.status = el("p", { class: "bg-pg-status", role: "status" });
    this.root.replaceChildren(
      el(
        "div",
        { class: "bg-pg-controls" },
        el("label", { class: "bg-pg-field", for: "bg-pg-text" }, "Sentence", this.text),
        el(
          "label",
          { class: "bg-pg-field", for: "bg-pg-pair" },
          "Second sentence (optional: makes a pair)",
          this.pair,
        ),
      ),
      el("div", { class: "bg-pg-load" }, this.button, this.progress),
      this.status,
    );
    try {
      await this.model.readManifest();
    } catch (error) {
      this.fail(`The model's files are not part of this build (${error.message}).`);
      return;
    }
    const { manifest, engineBytes } = this.model;
    const variants = document.querySelector("[data-bertguide-playground-variants]");
    if (variants) variants.replaceChildren(variantsTable(manifest));
    this.button.textContent =
      `Load the model (${megabytes(manifest.bytes)}` +
      (engineBytes ? ` + the ${megabytes(engineBytes)} engine)` : " + the WebAssembly engine)");
    this.button.disabled = false;
    this.status.textContent =
      "Nothing is downloaded until you press the button; " +
      "the browser keeps the files for the next visit.";
    for (const spec of PANELS.filter((p) => (manifest.panels ?? []).includes(p.name))) {
      const body = el("div", { class: "bg-pg-panel-body" });
      const section = el(
        "section",
        { class: "bg-pg-panel", "data-panel": spec.name, hidden: Boolean(spec.needsModel) },
        el("h2", {}, spec.title),
        body,
      );
      this.root.append(section);
      const panel = { spec, section, body };
      this.panels.push(panel);
      spec.build(panel, this);
    }
    const warm = () =>
      this.model.loadTokenizer().then(
        () => this.update(),
        (e) => this.fail(e.message),
      );
    this.root.addEventListener("focusin", warm, { once: true });
    const update = debounce(() => this.update(), DEBOUNCE_MS);
    this.text.addEventListener("input", update);
    this.pair.addEventListener("input", update);
    this.button.addEventListener("click", () => this.load().catch(() => {})); // fail() told
    new MutationObserver(() => this.redraw()).observe(document.body, {
      attributes: true,
      attributeFilter: ["data-md-color-scheme"],
    });
    let width = this.root.clientWidth;
    new ResizeObserver(() => {
      if (this.root.clientWidth !== width) {
        width = this.root.clientWidth;
        this.redraw();
      }
    }).observe(this.root);
  }

  fail(message) {
    this.setState("error");
    this.status.textContent = message;
    this.status.classList.add("bg-pg-error");
  }

  /** Download the engine and the model (once), then fill every panel. */
  load() {
    this.loading ??= this.loadOnce().catch((error) => {
      this.loading = null; // the button stays, to try again
      throw error;
    });
    return this.loading;
  }

  async loadOnce() {
    this.timings.clickedAt = performance.now();
    await this.started;
    if (!this.model.manifest) throw new Error("the model's manifest did not load");
    this.setState("loading");
    this.button.disabled = true;
    this.progress.hidden = false;
    this.status.textContent = "Downloading the engine and the model…";
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
    this.status.classList.remove("bg-pg-error");
    for (const panel of this.panels) panel.section.hidden = false;
    await this.update();
    this.timings.firstResultMs = performance.now() - this.timings.clickedAt;
    this.setState("ready");
    this.status.textContent =
      `Model ready (${megabytes(this.model.manifest.bytes)}, loaded and first sentence run in ` +
      `${(this.timings.firstResultMs / 1000).toFixed(1)} s). Edit the sentence: the panels follow.`;
    const similarity = this.panels.find((p) => p.spec === similarityPanel);
    if (similarity) await similarityPanel.update(similarity, this);
    return this;
  }

  /** The sentence (and pair) -> tokens now, and the model's panels once it is loaded. */
  async update() {
    if (!this.model.tokenizer) return;
    const id = ++this.updates;
    const start = performance.now();
    let encoding;
    try {
      encoding = this.model.encode(this.text.value, this.pair.value);
    } catch (error) {
      this.status.textContent = error.message;
      return;
    }
    const tokens = this.panels.find((p) => p.spec === tokensPanel);
    if (tokens) tokensPanel.show(tokens, encoding);
    if (!this.model.session) return;
    const result = await this.model.run(encoding);
    if (id !== this.updates) return; // the reader typed on: a newer update draws
    this.last = result;
    this.timings.runs.push(result.ms);
    this.redraw();
    this.timings.updates.push(performance.now() - start);
    this.runs += 1;
    this.root.dataset.runs = String(this.runs);
  }

  /** Draw the last result again (another layer or head, colour scheme or width). */
  redraw() {
    if (!this.last) return;
    for (const panel of this.panels) {
      if (panel.spec.needsModel && panel.spec.show && panel.spec !== similarityPanel) {
        panel.spec.show(panel, this.last, this);
      }
    }
  }

  /** Cosine similarity of `word` in sentences a and b, after each layer (L + 1 values). */
  async similarity(a, b, word) {
    const tok = this.model.tokenizer;
    const pieces = tok.tokenize(word.trim());
    if (!pieces.length) throw new Error("Type a word to compare.");
    const results = await Promise.all([a, b].map((s) => this.model.run(this.model.encode(s))));
    const positions = results.map((r, k) => {
      const at = findPieces(r.tokens, pieces);
      if (at < 0) {
        const which = k === 0 ? "first" : "second";
        const shown = `‘${word.trim()}’ (${pieces.join(" ")})`;
        throw new Error(`${shown} is not in the ${which} sentence.`);
      }
      return at;
    });
    const C = this.model.manifest.hidden_size;
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
}

// ---------------------------------------------------------------------------

const root = document.querySelector("[data-bertguide-playground]");
if (root) {
  const app = new Playground(root);
  window.bertguidePlayground = {
    get manifest() {
      return app.model.manifest;
    },
    get last() {
      return app.last;
    },
    get timings() {
      return app.timings;
    },
    load: () => app.load(),
    run: async (text, pair = null) => {
      await app.load();
      return app.model.run(app.model.encode(text, pair));
    },
    similarity: async (a, b, word) => {
      await app.load();
      return app.similarity(a, b, word);
    },
  };
}
