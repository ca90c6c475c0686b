/**
 * The panels that read the encoder (playground-model.onnx): tokens, attention and
 * similarity. The Playground page (playground.js) shows all three; the chapters' widgets
 * (widgets.js) show one each. A panel is an object with `build(panel, app)` (make its
 * elements inside `panel.body`) and `show(panel, result, app)` (draw a result).
 *
 * What a panel asks of `app`: `model` (a core.js Model: layers, heads, tokenizer),
 * `selection` ({ layer, head }), `last` (the result drawn), `colors()` (the scheme's
 * colours) and, for the similarity panel, `root.dataset` (its default sentences) and
 * `similarity(a, b, word)`. `panel.options.heatmap === false` leaves the attention
 * panel's heatmap out (the chapters' widget shows the head view only).
 *
 * Shapes: T = tokens, N = heads; result.attentions[l] is N * T * T (head, row, column).
 */

import {
  attentionRow,
  DEBOUNCE_MS,
  debounce,
  el,
  fixed,
  isWordLike,
  strongestNounLink,
  svg,
} from "./core.js";

const MIN_LINE_WEIGHT = 0.01; // head view: lighter lines are not drawn

export const tokensPanel = {
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

export const attentionPanel = {
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
    // what the jump found: the head, and its weight on each noun
    const link = el("p", { class: "bg-pg-readout bg-pg-link", "aria-live": "polite" });
    const heatmap = panel.options?.heatmap !== false;
    const headViewNote = el(
      "p",
      { class: "bg-pg-note" },
      "Each token on the left sends lines to the tokens on the right it looks at. " +
        "Hover a token to see only its lines; click it, or focus it (Tab, then the " +
        "arrow keys), to keep them; Escape shows them all again.",
    );
    if (heatmap) {
      panel.body.append(
        controls,
        el("h3", {}, "Heatmap"),
        el(
          "p",
          { class: "bg-pg-note" },
          "Row: the token that looks; column: the token it looks at; the stronger the " +
            "colour, the larger its share of the row (each row sums to 1). Point at a cell, or " +
            "tap it, to read it.",
        ),
        canvas,
        hover,
        el("h3", {}, "Head view"),
        headViewNote,
      );
    } else {
      panel.body.append(controls, headViewNote);
    }
    panel.body.append(view, focus, jump, link);
    // selected: the token clicked or focused (it stays); hovered: under the mouse (for now)
    Object.assign(panel, { canvas, hover, view, focus, jump, link, selected: null, hovered: null });
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
      const found = strongestNounLink(app.last, panel.selected, layers, heads);
      if (!found) return;
      app.selection.layer = found.layer;
      app.selection.head = found.head;
      panel.body.querySelector("#bg-pg-layer").value = found.layer;
      panel.body.querySelector("#bg-pg-head").value = found.head;
      this.show(panel, app.last, app);
      const word = app.last.tokens[panel.selected];
      const weights = found.links
        .slice(0, 4)
        .map(({ to, weight }) => `‘${app.last.tokens[to]}’ ${fixed(weight)}`)
        .join(", ");
      link.textContent = found.nouns
        ? `Layer ${found.layer}, head ${found.head} gives the nouns the largest share of the ` +
          `attention of ‘${word}’, ${fixed(found.total)} in all: ${weights}.`
        : `No noun here (a word after the, a, an, this…): layer ${found.layer}, ` +
          `head ${found.head} is where ‘${word}’ looks hardest at another word: ${weights}.`;
      // said for as long as it is what the page shows
      panel.linked = { result: app.last, selected: panel.selected, ...app.selection };
    });
  },

  show(panel, result, app) {
    if (!result) return;
    if (panel.options?.heatmap !== false) this.drawHeatmap(panel, result, app);
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
    const linked = panel.linked;
    if (
      linked &&
      (linked.result !== result ||
        linked.selected !== panel.selected ||
        linked.layer !== app.selection.layer ||
        linked.head !== app.selection.head)
    ) {
      panel.link.textContent = "";
      panel.linked = null;
    }
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
    panel.jump.textContent = `Find the head that links ‘${selected}’ most to the nouns`;
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

export const similarityPanel = {
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
          "(a word of several pieces: the mean of its pieces' vectors). The first row is the " +
          "input embedding, the same for the word wherever it stands but for its position.",
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
