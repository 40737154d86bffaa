/* Written for this book (not vendored). Wired by html_js_files in _config.yml; checked by
   tests/test_layout_browser.py (figures at every width, axe-core over every page).

   1. Figures open full size on a tap. On a phone a figure is shown at about half the size it
      was drawn, and its text with it; each output image becomes a button that opens the image
      at its natural size in a dialog (scrollable, closed by its button, Escape or a tap
      outside). The button is named by the image's alt text.
   2. The widgets' sliders are named. ipywidgets draws a slider's handle as a <div
      role="slider"> next to a <label> that is not tied to it, so a screen reader announces
      "slider" and nothing else; the handle gets the label's text as its aria-label.
   3. myst-nb's folded cells are named by what their summary says ("Show code cell source").
   4. The playground's widget image gets an alt text (WIDGET_IMAGE_ALT). */
(function () {
  "use strict";
  const MIN_FIGURE_WIDTH = 120;       // smaller images are icons, not figures

  function openFull(img) {
    const dialog = document.createElement("dialog");
    dialog.className = "figure-zoom-dialog";
    dialog.setAttribute("aria-label", img.alt || "figure");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn btn-sm btn-light";
    close.textContent = "Close";
    close.addEventListener("click", () => dialog.close());
    const full = document.createElement("img");
    full.src = img.currentSrc || img.src;
    full.alt = img.alt;
    full.width = img.naturalWidth;
    dialog.append(close, full);
    dialog.addEventListener("click", e => { if (e.target === dialog) dialog.close(); });
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  // A widget's image (the playground's plot) stays where its widget put it: the image itself
  // becomes the button.
  function zoomableWidgetImage(img) {
    if (img.classList.contains("figure-zoom") || img.naturalWidth < MIN_FIGURE_WIDTH) return;
    img.classList.add("figure-zoom");
    img.setAttribute("role", "button");
    img.tabIndex = 0;
    img.title = "Open full size";
    img.addEventListener("click", () => openFull(img));
    img.addEventListener("keydown", e => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openFull(img); }
    });
  }

  function zoomable(img) {
    if (img.closest(".jupyter-widgets")) { zoomableWidgetImage(img); return; }
    if (img.closest("button, a") || img.naturalWidth < MIN_FIGURE_WIDTH) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "figure-zoom";
    button.title = "Open full size";
    img.replaceWith(button);
    button.append(img);
    const hint = document.createElement("span");
    hint.className = "visually-hidden";
    hint.textContent = " (opens full size)";
    button.append(hint);
    button.addEventListener("click", () => openFull(img));
  }

  function figures() {
    for (const img of document.querySelectorAll("div.cell_output img")) {
      if (img.complete) zoomable(img);
      else img.addEventListener("load", () => zoomable(img), {once: true});
    }
  }

  function nameSliders(root) {
    for (const handle of root.querySelectorAll('[role="slider"]:not([aria-label]):not([aria-labelledby])')) {
      const widget = handle.closest(".widget-slider, .jupyter-widgets");
      const label = widget && widget.querySelector(".widget-label");
      const text = label && label.textContent.trim();
      if (text) handle.setAttribute("aria-label", text);
    }
  }

  // myst-nb's folded cells: <summary aria-label="Toggle hidden content">Show code cell
  // source</summary>; the visible text is the better name (and axe's
  // label-content-name-mismatch asks for it), so the fixed label goes.
  function nameSummaries() {
    for (const summary of document.querySelectorAll('summary[aria-label="Toggle hidden content"]')) {
      if (summary.textContent.trim()) summary.removeAttribute("aria-label");
    }
  }

  // Widget images carry no alt text (ipywidgets' Image has none; a tooltip breaks its view
  // in the static page): the ones the book shows are described here, by their class.
  const WIDGET_IMAGE_ALT = {
    "nblib-pg-plot": "The playground's figure: the decision boundary with the test points, " +
                     "and the loss and accuracy of every run",
  };

  function describeWidgetImages() {
    for (const [cls, alt] of Object.entries(WIDGET_IMAGE_ALT)) {
      for (const img of document.querySelectorAll(`img.${cls}:not([alt])`)) img.alt = alt;
    }
    for (const img of document.querySelectorAll("div.cell_output .jupyter-widgets img.widget-image:not(.figure-zoom)")) {
      if (img.complete && img.naturalWidth) zoomableWidgetImage(img);
      else img.addEventListener("load", () => zoomableWidgetImage(img), {once: true});
    }
  }

  function start() {
    nameSummaries();
    figures();
    nameSliders(document);
    // widgets render after the page loads, each into its own output
    let pending = false;
    new MutationObserver(() => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        nameSliders(document);
        describeWidgetImages();
      });
    }).observe(document.body, {childList: true, subtree: true});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
