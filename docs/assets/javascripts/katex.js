// The site's maths is rendered to HTML when the site is built (scripts/mkdocs_hooks.py);
// a page that has some fetches KaTeX's stylesheet (25 KB) from the site's own copy,
// assets/vendor/katex/. Maths the build did not render (a \( ... \) span in a notebook,
// say) still gets KaTeX's script, fetched only then.
(function () {
  var here = document.currentScript && document.currentScript.src;
  var vendor = here ? new URL("../vendor/katex/", here).href : null;

  function load(tag, attributes) {
    return new Promise(function (resolve, reject) {
      var element = document.createElement(tag);
      Object.keys(attributes).forEach(function (name) {
        element[name] = attributes[name];
      });
      element.onload = resolve;
      element.onerror = reject;
      document.head.appendChild(element);
    });
  }

  var stylesheet = null;
  var script = null; // one download each per page, however often the page re-renders

  function render() {
    if (!vendor || !document.querySelector(".arithmatex")) return; // no maths here
    if (!stylesheet) {
      stylesheet = load("link", { rel: "stylesheet", href: vendor + "katex.min.css" });
    }
    if (!document.querySelector(".arithmatex:not(.katex-rendered)")) return;
    if (!script) {
      script = load("script", { src: vendor + "katex.min.js" }).then(function () {
        return load("script", { src: vendor + "auto-render.min.js" });
      });
    }
    script.then(function () {
      renderMathInElement(document.body, {
        delimiters: [
          { left: "\\[", right: "\\]", display: true },
          { left: "\\(", right: "\\)", display: false },
        ],
        throwOnError: false,
      });
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(render); // Material's page-change stream
  } else {
    document.addEventListener("DOMContentLoaded", render);
  }
})();
