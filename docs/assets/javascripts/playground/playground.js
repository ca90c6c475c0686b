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
 * The panels themselves are in panels.js (the chapters' widgets show them one at a time),
 * the model and the engine in core.js. Adding a panel that reads this file: write an
 * object like the three in PANELS, add it there, and list its name in the manifest's
 * "panels". The page shows only the panels the manifest names, so a panel never appears
 * before the model can fill it. The fill-mask and next-sentence panels read another file
 * (the restored heads) with its own button: widgets.js draws them, below this one.
 *
 * Left out: batches (one sentence or pair at a time), WebGPU and threads, the pooler
 * output, and any model but the one the manifest names.
 */

import { Model, el, megabytes, debounce, schemeColors } from "./core.js";
import { attentionPanel, similarityPanel, tokensPanel } from "./panels.js";

export { cosine, findPieces, nounsOf, strongestNounLink } from "./core.js";

// ---------------------------------------------------------------------------
// the manifest's measurements

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
    return schemeColors(this.root);
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
        el("h2", { tabindex: "-1" }, spec.title), // takes the focus once loaded
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
    const update = debounce(() => this.update());
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
    // where the reader pressed it (a disabled button may already have lost the focus)
    const focused = [this.button, document.body, null].includes(document.activeElement);
    this.button.hidden = true;
    this.status.classList.remove("bg-pg-error");
    for (const panel of this.panels) panel.section.hidden = false;
    await this.update();
    // the button is gone: the keyboard's focus goes to the first results it brought
    const first = this.panels.find((p) => p.spec.needsModel) ?? this.panels[0];
    if (focused && first) first.section.querySelector("h2").focus();
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
  similarity(a, b, word) {
    return this.model.similarity(a, b, word);
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
