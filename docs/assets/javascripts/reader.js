// Boxes that scroll sideways -- a figure kept wide enough to read (scripts/
// figure_markup.py), a table, a display formula, a notebook's output -- say so and can
// be reached without a mouse:
//
// * the edge that has more to show fades out (the classes bg-scrolls-left and
//   bg-scrolls-right, styled in extra.css), updated as the box scrolls or resizes;
// * a box that scrolls takes the keyboard's focus (tabindex 0, WCAG 2.1.1), as a
//   region named after what it holds; one that does not scroll is left alone.
(function () {
  var BOXES = [
    [".bg-figure", "Figure, scrolls sideways"],
    [".md-typeset__scrollwrap", "Table, scrolls sideways"],
    [".md-typeset div.arithmatex", "Formula, scrolls sideways"],
    [".jupyter-wrapper .jp-OutputArea-output > pre", "Output, scrolls sideways"],
    [".jupyter-wrapper .jp-RenderedHTML", "Output, scrolls sideways"],
    [".jupyter-wrapper .jp-OutputArea", "Output, scrolls sideways"],
    [".jupyter-wrapper .highlight-ipynb pre", "Code, scrolls sideways"],
  ];

  function update(box, label) {
    var more = box.scrollWidth - box.clientWidth;
    var scrolls = more > 1 && getComputedStyle(box).overflowX !== "visible";
    box.classList.toggle("bg-scrolls-left", scrolls && box.scrollLeft > 1);
    box.classList.toggle("bg-scrolls-right", scrolls && box.scrollLeft < more - 1);
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", label);
      box.dataset.bgScrollFocus = "";
    } else if (!scrolls && box.dataset.bgScrollFocus !== undefined) {
      ["tabindex", "role", "aria-label", "data-bg-scroll-focus"].forEach(function (name) {
        box.removeAttribute(name);
      });
    }
  }

  var observer = window.ResizeObserver
    ? new ResizeObserver(function (entries) {
        entries.forEach(function (entry) {
          var box = entry.target.bgScrollBox || entry.target;
          update(box, box.bgScrollLabel);
        });
      })
    : null;

  function mount() {
    BOXES.forEach(function (pair) {
      document.querySelectorAll(pair[0]).forEach(function (box) {
        if (box.bgScrollLabel) return; // already watched
        box.bgScrollLabel = pair[1];
        update(box, pair[1]);
        box.addEventListener("scroll", function () {
          update(box, pair[1]);
        }, { passive: true });
        if (observer) {
          // the box's own size, and its content's: a formula grows when KaTeX's
          // stylesheet arrives, an image when it loads
          observer.observe(box);
          Array.from(box.children).forEach(function (child) {
            child.bgScrollBox = box;
            observer.observe(child);
          });
        }
        // an image that arrives later makes its box wider
        box.querySelectorAll("img").forEach(function (img) {
          if (!img.complete) img.addEventListener("load", function () { update(box, pair[1]); });
        });
      });
    });
  }

  // boxes a script adds later (the Playground's tables) are watched too
  var pending = false;
  var added = new MutationObserver(function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      mount();
    });
  });

  function start() {
    mount();
    var content = document.querySelector(".md-content");
    if (content) added.observe(content, { childList: true, subtree: true });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(start); // Material's page-change stream
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
