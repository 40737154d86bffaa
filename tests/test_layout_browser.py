"""The book as a reader sees it: nothing wider than the column, figures at a readable size,
no bookkeeping in the code on show.

Every page of ``_toc.yml`` is opened in Debian's Chromium (the setup of tests/test_book.py,
reused by import) at two window sizes, a 1280 px laptop and a 1440 px desktop, with every
folded cell and dropdown opened, since a reader may open them. Three properties:

* **no sideways scrolling**: no element of the article (code, printed output, table, widget)
  has ``overflow-x`` auto or scroll with content wider than its box, and none sticks out
  of the article's column;
* **figures at a readable size**: an image in a cell's output (a matplotlib figure, an
  animation frame) is shown at no less than ``MIN_FIGURE_SCALE`` of its natural width;
  the book's figures hold text (ticks, titles, legends) drawn at 10 pt, 13.9 px at the
  inline backend's 100 dpi, so 70 % keeps it at about 9.7 px;
* **no bookkeeping on show**: no code block on the page contains a ``glue(`` call.

The layout rule that makes the first one hold is book/vendor/layout.css (a wider column).
``test_layout_checks_catch_problems`` proves that each check can fail: it injects a wide
code block, a wide table, a wide widget, a shrunken figure with text and a ``glue(`` call
into a copy of a built page, and every check must report its own problem there, and none
on the page as built.
"""
from __future__ import annotations

import base64
import io
import shutil

import pytest

from test_book import (BOOK_DOCNAMES, book_server, browser_context, page,  # noqa: F401
                       require_ok, serve)

VIEWPORTS = ((1280, 800), (1440, 900))
MIN_FIGURE_SCALE = 0.7
MIN_FIGURE_NATURAL_WIDTH = 120      # smaller images are icons, not figures

browser = pytest.mark.browser

# Opens every folded cell, toggle and dropdown (a reader may open them all).
JS_UNFOLD = """() => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    document.querySelectorAll('button.toggle-button').forEach(b => {
        if (b.getAttribute('aria-expanded') === 'false') b.click(); });
}"""

JS_LAYOUT = """() => {
    const article = document.querySelector('article.bd-article');
    if (!article) return {error: 'no article.bd-article'};
    const box = article.getBoundingClientRect();
    const cs = getComputedStyle(article);
    const right = box.right - parseFloat(cs.paddingRight) + 1;
    const describe = e => (e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined
        ? '.' + String(e.className).trim().split(/\\s+/).join('.') : '') + ': ' +
        (e.textContent || e.getAttribute('src') || '').replace(/\\s+/g, ' ').trim().slice(0, 70));
    const shown = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    const inMath = e => !!e.closest('mjx-container, .math');
    const scrolling = [], sticking = [];
    for (const e of article.querySelectorAll('*')) {
        if (!shown(e) || inMath(e)) continue;
        const ox = getComputedStyle(e).overflowX;
        if ((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth + 1)
            scrolling.push(`${describe(e)} (${e.scrollWidth} px of content in ${e.clientWidth} px)`);
    }
    for (const e of article.querySelectorAll(
            'pre, table, img, .jupyter-widgets, .widget-subarea, div.cell_output, div.output')) {
        if (!shown(e) || inMath(e)) continue;
        const r = e.getBoundingClientRect();
        if (r.right > right) sticking.push(`${describe(e)} (right edge ${Math.round(r.right)} px, `
                                           + `column ends at ${Math.round(right)} px)`);
    }
    const figures = Array.from(article.querySelectorAll(
            'div.cell_output img, div.output img, div.animation img'))
        .filter(i => shown(i) && i.naturalWidth >= %(min_natural)d)
        .map(i => ({src: (i.getAttribute('src') || '').slice(0, 60), natural: i.naturalWidth,
                    shown: Math.round(i.getBoundingClientRect().width)}));
    const glue = Array.from(article.querySelectorAll('pre'))
        .filter(p => /\\bglue\\(/.test(p.textContent))
        .map(p => p.textContent.split('\\n').find(l => /\\bglue\\(/.test(l)).trim().slice(0, 80));
    return {scrolling, sticking, figures, glue};
}""" % {"min_natural": MIN_FIGURE_NATURAL_WIDTH}


def measure(ctx, url: str, viewport) -> dict:
    pg = ctx.new_page()
    try:
        pg.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        pg.goto(url, wait_until="load")
        pg.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                    ".forEach(i => { i.loading = 'eager'; })")
        pg.wait_for_function("() => Array.from(document.images).every(i => i.complete)",
                             timeout=15_000)
        pg.evaluate(JS_UNFOLD)
        pg.wait_for_timeout(300)        # widgets and MathJax settle, toggles open
        return pg.evaluate(JS_LAYOUT)
    finally:
        pg.close()


def problems_scrolling(m: dict) -> list[str]:
    return [f"scrolls sideways: {s}" for s in m["scrolling"]] + \
           [f"wider than the column: {s}" for s in m["sticking"]]


def problems_figures(m: dict) -> list[str]:
    return [f"figure shown at {f['shown'] / f['natural']:.0%} of its {f['natural']} px "
            f"({f['shown']} px; its text shrinks with it): {f['src']}"
            for f in m["figures"] if f["shown"] < MIN_FIGURE_SCALE * f["natural"]]


def problems_glue(m: dict) -> list[str]:
    return [f"a glue( call in the code on show: {line}" for line in m["glue"]]


CHECKS = {"no_sideways_scrolling": problems_scrolling,
          "figures_readable": problems_figures,
          "no_glue_on_show": problems_glue}


@pytest.fixture(scope="module")
def layouts(book_server, browser_context):  # noqa: F811
    """Every page measured once per window size."""
    return {(d, v): measure(browser_context, f"{book_server}/{d}.html", v)
            for d in BOOK_DOCNAMES for v in VIEWPORTS}


@browser
@pytest.mark.slow
@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("docname", BOOK_DOCNAMES)
def test_page_layout(layouts, docname, check):
    problems = []
    for viewport in VIEWPORTS:
        m = layouts[docname, viewport]
        assert "error" not in m, m
        problems += [f"{viewport[0]} px: {p}" for p in CHECKS[check](m)]
    assert not problems, f"{docname}: {len(problems)} problems\n" + "\n".join(problems[:25])


# ----------------------------------------------------------------------------- the checks fail
def _figure_png(width_in: float) -> str:
    """A PNG of a figure that holds text, ``width_in`` inches at 100 dpi."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_in, 2), dpi=100)
    ax.plot([0, 1], [0, 1], label="a legend")
    ax.set(title="a title", xlabel="x")
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


INJECTED = """
<div class="cell docutils container"><div class="cell_input docutils container">
<div class="highlight-ipython3 notranslate"><div class="highlight"><pre id="wide-code">
x = {long_line}
</pre></div></div></div></div>
<div class="pst-scrollable-table-container"><table class="table" id="wide-table"><tr>
<td>{long_words}</td><td style="white-space: nowrap">{long_words}</td></tr></table></div>
<div class="cell_output docutils container"><div class="output text_html">
<div class="jupyter-widgets widget-subarea" id="wide-widget" style="width: 2400px">a widget</div>
</div></div>
<div class="cell_output docutils container"><div class="output text_html">
<img id="shrunk-figure" alt="a figure" src="data:image/png;base64,{png}"></div></div>
<div class="highlight"><pre id="glue-code">total = 3
glue("canary_total", total, display=False)</pre></div>
"""


@browser
@pytest.mark.slow
def test_layout_checks_catch_problems(teacher_build, browser_context, tmp_path):  # noqa: F811
    build = require_ok(teacher_build)
    site = tmp_path / "html"
    shutil.copytree(build.html, site, ignore=shutil.ignore_patterns("*.ipynb", "_sources"))
    original = page(build, "book/intro").read_text(encoding="utf-8")
    marker = "</h1>"
    assert marker in original, "no place to inject into the intro page"
    injected = INJECTED.format(long_line="1 + " * 80 + "1", long_words="wide " * 60,
                               png=_figure_png(24))
    # after the article's own title (the page header above the article has an <h1> too)
    at = original.index(marker, original.index('<article class="bd-article"')) + len(marker)
    canary = original[:at] + injected + original[at:]
    (site / "book" / "canary.html").write_text(canary, encoding="utf-8")

    with serve(site) as base:
        for viewport in VIEWPORTS:
            clean = measure(browser_context, f"{base}/book/intro.html", viewport)
            bad = measure(browser_context, f"{base}/book/canary.html", viewport)
            for check in CHECKS.values():
                assert check(clean) == [], (viewport, check.__name__, check(clean))
            scrolling = "\n".join(problems_scrolling(bad))
            assert "x = 1 + 1" in scrolling, scrolling                  # the code block
            assert "table" in scrolling and "wide wide" in scrolling, scrolling
            assert "a widget" in scrolling, scrolling                  # sticks out
            figures = problems_figures(bad)
            assert len(figures) == 1 and "of its 2400 px" in figures[0], figures
            assert problems_glue(bad) == [
                'a glue( call in the code on show: glue("canary_total", total, display=False)']
