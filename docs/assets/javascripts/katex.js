// Render the \( ... \) and \[ ... \] spans that pymdownx.arithmatex leaves in the page.
(function () {
  function render() {
    if (typeof renderMathInElement !== "function") return;
    renderMathInElement(document.body, {
      delimiters: [
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
      ],
      throwOnError: false,
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(render); // Material's page-change stream
  } else {
    document.addEventListener("DOMContentLoaded", render);
  }
})();
