/**
 * Small widgets inside the chapters, and the Playground's fill-mask and next-sentence
 * panels: each is a <div data-bertguide-widget="KIND" data-manifest="..."> in a page's
 * Markdown, filled by this ES module (loaded only by the pages that hold one).
 *
 * Kinds, with the data- attributes each reads:
 *
 * - tokenizer (Tokenization): a sentence box and its WordPiece tokens and ids, as the
 *   reader types. Needs only the vocabulary (0.2 MB), fetched when the widget comes near
 *   the screen or gets the focus. data-text: the first sentence.
 * - attention (Visualising attention): "hover a token to see where it looks", the head
 *   view of one layer and head on the reader's sentence. data-text, data-layer,
 *   data-head, data-token (the token selected first: the seed's "it").
 * - similarity (Contextual embeddings): one word's vectors in two sentences, compared
 *   layer by layer. data-similar-a, data-similar-b, data-word.
 * - heads (Playground): the top-k tokens for each [MASK] of a text, and P(IsNext) for a
 *   pair, from the restored MLM and NSP heads (figures/playground-heads.json);
 *   data-vocab-manifest names the manifest of the vocabulary. data-text, data-a, data-b.
 *
 * The three that run a model download it only when the reader presses the button that
 * states its size (core.js Loader), with a progress bar. Each root carries data-state
 * ("idle", "loading", "ready", "error") and data-runs (results drawn); for tests and the
 * curious, window.bertguideWidgets[KIND] is the widget (`last`, `load()`, and `model`).
 *
 * Left out: several widgets of one kind on one page (element ids are per kind).
 */

import { debounce, el, fixed, Loader, Model, schemeColors } from "./core.js";
import { attentionPanel, similarityPanel, tokensPanel } from "./panels.js";

const MAX_LENGTH = 128; // the tokenizer widget cuts as the model's files do
const MASK_ANY_CASE = /\[mask\]/gi;

/** A note, when the model read only the first part of the text: [] when it read all. */
function cutNote(encoding) {
  if (!encoding.truncated) return [];
  const left = encoding.fullLength - encoding.tokens.length;
  return [
    el(
      "p",
      { class: "bg-pg-note bg-pg-cut", role: "status" },
      `The model reads at most ${encoding.tokens.length} tokens and this input makes ` +
        `${encoding.fullLength}: ` +
        (encoding.pair
          ? `${left} were cut from the ends of the sentences, the longer one first.`
          : `it read the first ${encoding.tokens.length} and left out the last ${left}.`),
    ),
  ];
}

class Widget {
  constructor(root) {
    this.root = root;
    this.kind = root.dataset.bertguideWidget;
    const data = root.dataset;
    this.model = new Model(data.manifest, data.vocabManifest ?? data.manifest);
    this.selection = { layer: Number(data.layer ?? 0), head: Number(data.head ?? 0) };
    this.last = null;
    this.runs = 0;
    this.updates = 0; // updates asked for: only the latest one draws
    this.setState("idle");
  }

  setState(state) {
    this.root.dataset.state = state;
  }

  colors() {
    return schemeColors(this.root);
  }

  similarity(a, b, word) {
    return this.model.similarity(a, b, word);
  }

  /** A labelled text box: <label>Label<textarea id=...></label>; returns [label, box]. */
  textBox(name, label, value, rows = 2) {
    const id = `bg-w-${this.kind}-${name}`;
    const box =
      rows > 1
        ? el("textarea", { id, rows, spellcheck: "false" })
        : el("input", { id, type: "text", autocomplete: "off", spellcheck: "false" });
    box.value = value ?? "";
    return [el("label", { class: "bg-pg-field", for: id }, label, box), box];
  }

  /** A panel of panels.js inside this widget. */
  panel(spec, options = {}) {
    const body = el("div", { class: "bg-pg-panel-body" });
    const panel = { spec, body, options };
    spec.build(panel, this);
    return panel;
  }

  drawn(result) {
    this.last = result;
    this.runs += 1;
    this.root.dataset.runs = String(this.runs);
  }

  fail(message) {
    this.setState("error");
    this.loader?.fail(message);
  }

  /** The model's button, its progress bar and status; `after` runs once it is loaded. */
  addLoader(what, after) {
    this.loader = new Loader(this.model, what);
    this.root.append(this.loader.element);
    this.loader.button.addEventListener("click", () => this.load().catch(() => {}));
    this.after = after;
    this.started = this.model.readManifest().then(
      () => this.loader.ready(),
      (error) => this.fail(`The model's files are not part of this build (${error.message}).`),
    );
  }

  load() {
    this.loading ??= (async () => {
      this.setState("loading");
      try {
        await this.loader.start();
      } catch (error) {
        this.loading = null;
        this.setState("error");
        throw error;
      }
      await this.after();
      this.setState("ready");
      // the button is gone: the keyboard's focus goes to the line that says it is ready,
      // right above the results
      const active = document.activeElement;
      if (!active || active === document.body || active === this.loader.button) {
        this.loader.status.focus();
      }
      return this;
    })();
    return this.loading;
  }
}

// ---------------------------------------------------------------------------
// tokenizer: tokens and ids as the reader types (the vocabulary only)

class TokenizerWidget extends Widget {
  constructor(root) {
    super(root);
    const [label, box] = this.textBox("text", "Your sentence", root.dataset.text);
    this.box = box;
    this.tokens = this.panel(tokensPanel);
    this.status = el("p", { class: "bg-pg-status", role: "status" });
    root.replaceChildren(label, this.status, this.tokens.body);
    this.status.textContent =
      "Point at this box or click in it: the tokens appear, and follow what you type " +
      "(the vocabulary, 0.2 MB, loads then).";
    box.addEventListener(
      "input",
      debounce(() => this.update(), 60),
    );
    // the vocabulary would take the page past its 1 MB: fetched once the reader comes
    const start = () => this.load().catch((e) => this.fail(e.message));
    for (const event of ["focusin", "pointerover"]) {
      root.addEventListener(event, start, { once: true });
    }
  }

  fail(message) {
    this.setState("error");
    this.status.textContent = `The vocabulary did not load: ${message}`;
    this.status.classList.add("bg-pg-error");
  }

  load() {
    this.loading ??= (async () => {
      this.setState("loading");
      await this.model.loadTokenizer();
      this.status.textContent = "";
      this.update();
      this.setState("ready");
      return this;
    })().catch((error) => {
      this.loading = null;
      throw error;
    });
    return this.loading;
  }

  update() {
    const tok = this.model.tokenizer;
    if (!tok) return;
    const text = this.box.value;
    const full = tok.tokenize(text).length + 2;
    const encoding = tok.encode(text, null, { truncation: true, maxLength: MAX_LENGTH });
    const result = { ...encoding, text, pair: null, truncated: full > MAX_LENGTH };
    tokensPanel.show(this.tokens, result);
    this.drawn(result);
  }
}

// ---------------------------------------------------------------------------
// attention: hover (or focus) a token, see where it looks, in one layer and head

class AttentionWidget extends Widget {
  constructor(root) {
    super(root);
    const [label, box] = this.textBox("text", "Your sentence", root.dataset.text);
    this.box = box;
    root.replaceChildren(label);
    this.addLoader("the model", () => this.update());
    this.started.then(() => {
      if (!this.model.manifest) return;
      // the layer and head menus need the manifest's counts
      this.attention = this.panel(attentionPanel, { heatmap: false });
      this.attention.body.hidden = true;
      root.append(this.attention.body);
      this.attention.body.querySelector("#bg-pg-layer").value = this.selection.layer;
      this.attention.body.querySelector("#bg-pg-head").value = this.selection.head;
    });
    box.addEventListener(
      "input",
      debounce(() => this.update()),
    );
  }

  async update() {
    if (!this.model.session) return;
    const id = ++this.updates;
    const result = await this.model.run(this.model.encode(this.box.value));
    if (id !== this.updates) return; // the reader typed on: a newer update draws
    const panel = this.attention;
    if (this.runs === 0) {
      const first = result.tokens.indexOf(this.root.dataset.token ?? "");
      panel.selected = first >= 0 ? first : null;
    }
    panel.body.hidden = false;
    this.drawn(result);
    attentionPanel.show(panel, result, this);
  }
}

// ---------------------------------------------------------------------------
// similarity: one word, two sentences, layer by layer

class SimilarityWidget extends Widget {
  constructor(root) {
    super(root);
    root.replaceChildren();
    // the panel as it is, but counting what it draws
    const spec = {
      ...similarityPanel,
      show: (panel, result) => {
        similarityPanel.show(panel, result);
        this.drawn(result);
      },
    };
    this.addLoader("the model", () => spec.update(this.similarityPanel, this));
    this.similarityPanel = this.panel(spec);
    root.append(this.similarityPanel.body);
  }
}

// ---------------------------------------------------------------------------
// heads: fill-mask and next sentence, from the restored MLM and NSP heads

class HeadsWidget extends Widget {
  constructor(root) {
    super(root);
    const data = root.dataset;
    const [textLabel, text] = this.textBox("text", "Text with [MASK]", data.text, 1);
    const [aLabel, a] = this.textBox("a", "Sentence A", data.a, 1);
    const [bLabel, b] = this.textBox("b", "Sentence B", data.b, 1);
    Object.assign(this, { text, a, b });
    this.fillOut = el("div", { class: "bg-pg-fill", "aria-live": "polite" });
    this.nspOut = el("div", { class: "bg-pg-nsp", "aria-live": "polite" });
    root.replaceChildren();
    this.addLoader("the heads", () => Promise.all([this.updateFill(), this.updateNext()]));
    const section = (name, title, note, ...children) =>
      el(
        "section",
        { class: "bg-pg-panel", "data-panel": name },
        el("h3", {}, title),
        el("p", { class: "bg-pg-note" }, note),
        ...children,
      );
    root.append(
      section(
        "fill-mask",
        "Fill-mask",
        "Write [MASK] where a word is missing (several [MASK]s: one list each): the " +
          "five tokens the masked-LM head finds most likely there, with their probabilities.",
        el("div", { class: "bg-pg-controls" }, textLabel),
        this.fillOut,
      ),
      section(
        "next-sentence",
        "Next sentence",
        "The next-sentence head reads [CLS] A [SEP] B [SEP] and says how likely it is " +
          "that B is the sentence that followed A in a text (IsNext).",
        el("div", { class: "bg-pg-controls" }, aLabel, bLabel),
        this.nspOut,
      ),
    );
    text.addEventListener(
      "input",
      debounce(() => this.updateFill()),
    );
    const next = debounce(() => this.updateNext());
    a.addEventListener("input", next);
    b.addEventListener("input", next);
  }

  async updateFill() {
    if (!this.model.session) return;
    const id = ++this.updates;
    // [mask], [Mask]: the reader means [MASK], the one spelling the tokenizer keeps whole
    const text = this.text.value.replace(MASK_ANY_CASE, "[MASK]");
    let result;
    try {
      result = await this.model.fillMask(text);
    } catch (error) {
      this.fillOut.replaceChildren(el("p", { class: "bg-pg-error" }, error.message));
      return;
    }
    if (id !== this.updates) return;
    const cut = cutNote(result);
    if (!result.masks.length) {
      const past = result.truncated && text.includes("[MASK]");
      this.fillOut.replaceChildren(
        ...cut,
        el(
          "p",
          { class: "bg-pg-note" },
          past
            ? "Every [MASK] of your text is past the part the model reads: move one earlier."
            : "Write [MASK] where a word is missing.",
        ),
      );
      this.drawn(result); // the note is this text's result
      return;
    }
    this.fillOut.replaceChildren(
      ...cut,
      ...result.masks.flatMap((mask, m) => [
        el(
          "p",
          { class: "bg-pg-fill-title" },
          result.masks.length > 1 ? `[MASK] ${m + 1} (token ${mask.position}):` : "[MASK]:",
        ),
        el(
          "ol",
          { class: "bg-pg-sim-list bg-pg-fill-list", "aria-label": `candidates for [MASK] ${m + 1}` },
          ...mask.candidates.map((c) =>
            el(
              "li",
              { "data-id": c.id },
              el("span", { class: "bg-pg-fill-token" }, c.token),
              el("span", {
                class: "bg-pg-bar",
                style: `--bg-pg-weight: ${fixed(c.probability, 3)}`,
              }),
              el("span", { class: "bg-pg-sim-value" }, fixed(c.probability, 3)),
            ),
          ),
        ),
      ]),
    );
    this.drawn(result);
  }

  async updateNext() {
    if (!this.model.session) return;
    let p, cut;
    try {
      p = await this.model.nextSentence(this.a.value, this.b.value);
      cut = cutNote(this.model.encode(this.a.value, this.b.value));
    } catch (error) {
      this.nspOut.replaceChildren(el("p", { class: "bg-pg-error" }, error.message));
      return;
    }
    this.isNext = p;
    const verdict = p >= 0.5 ? "B reads as the next sentence" : "B reads as a random sentence";
    this.nspOut.replaceChildren(
      el(
        "ol",
        { class: "bg-pg-sim-list", "aria-label": "probability that B follows A" },
        el(
          "li",
          {},
          el("span", {}, "P(IsNext)"),
          el("span", { class: "bg-pg-bar", style: `--bg-pg-weight: ${fixed(p, 3)}` }),
          el("span", { class: "bg-pg-sim-value bg-pg-is-next" }, fixed(p, 3)),
        ),
      ),
      el("p", { class: "bg-pg-note" }, `${verdict} (the head's answer, not a fact).`),
      ...cut,
    );
  }
}

// ---------------------------------------------------------------------------

const KINDS = {
  tokenizer: TokenizerWidget,
  attention: AttentionWidget,
  similarity: SimilarityWidget,
  heads: HeadsWidget,
};

window.bertguideWidgets = {};
for (const root of document.querySelectorAll("[data-bertguide-widget]")) {
  const Kind = KINDS[root.dataset.bertguideWidget];
  if (!Kind) {
    root.textContent = `Unknown widget “${root.dataset.bertguideWidget}”.`;
    continue;
  }
  window.bertguideWidgets[root.dataset.bertguideWidget] = new Kind(root);
}
