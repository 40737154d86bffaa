"""The book as every reader sees it: on a desktop, a laptop, a tablet and a phone, and through
a screen reader.

Every page of ``_toc.yml``, in both editions (the teacher's book and the student edition), is
opened once in Debian's Chromium (the setup of tests/test_book.py, reused by import), with
every folded cell and dropdown opened, since a reader may open them; a student page whose
article is the reader's page's, byte for byte (a page without tasks), is measured once, on
the reader's. Then:

* axe-core (book/vendor/axe/, served from this machine) checks the page against WCAG 2.0,
  2.1 and 2.2 A and AA at 1280 px, and every console error is recorded (none is allowed);
* the window is resized to each of ``WIDTHS`` (a 1440 px desktop, a 1280 px laptop, a 1024 px
  and a 768 px tablet, a 390 px phone) and a light script measures the layout there.

The properties, one test each:

* **no sideways scrolling**: at 768 px and wider no element of the article (code, printed
  output, table, widget, display maths) has ``overflow-x`` auto or scroll with content wider
  than its box, none sticks out of the article's column, and the page itself does not scroll
  sideways. On a phone, blocks may scroll inside themselves, the page never does, and display
  maths either fits the column or scrolls within itself;
* **figures at a readable size**: an image in a cell's output (a matplotlib figure, an
  animation frame, a widget's image) is shown at no less than ``MIN_FIGURE_SCALE`` of its
  natural width, or a tap opens it full size (book/vendor/reader.js wraps it in
  ``button.figure-zoom``, or makes a widget's image a button itself). At 1280 px
  and wider every figure is shown at that scale. The book's figures hold text (ticks, titles,
  legends) drawn at 10 pt, 13.9 px at the inline backend's 100 dpi, so 70 % keeps it at about
  9.7 px; the playground's figure is drawn at 80 dpi, so its legends are checked on their own
  (``test_playground_legends_readable``);
* **figures described**: every such figure has an alt text, and not a file path (myst-nb
  writes the image's path when a cell's ``mystnb.image.alt`` metadata is missing, which
  axe-core's image-alt rule accepts);
* **no bookkeeping on show**: no code block on the page contains a ``glue(`` call;
* **accessible**: axe-core reports no violation;
* **no console errors**.

``test_layout_checks_catch_problems`` proves that each check can fail: it injects a wide
code block, a wide table, a wide widget, a shrunken figure with text, a figure that cannot be
opened full size, an element wider than a phone, an image without alt text, a figure whose
alt text is a file path, an unnamed input, a console error and a ``glue(`` call into a copy
of a built page, and every check must report its own problem there, and none on the page as
built.
"""
from __future__ import annotations

import base64
import contextlib
import io
import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import after_build
from test_book import (BOOK_DOCNAMES, BROWSER_TURN, JS_ALL_VIEWS_RENDERED,  # noqa: F401
                       browser_context, chromium, need_chromium, page, require_ok, serve)

WIDTHS = (1440, 1280, 1024, 768, 390)
DESKTOP = (1440, 1280)          # every figure at MIN_FIGURE_SCALE here
NO_SCROLL_FROM = 768            # from this width on, no block scrolls sideways either
AXE_WIDTH = 1280
HEIGHT = 900
MIN_FIGURE_SCALE = 0.7
MIN_FIGURE_NATURAL_WIDTH = 120      # smaller images are icons, not figures
MIN_TEXT_PX = 9.0
# An alt text that is one word holding a "/" or an image file's extension: a path, not a description.
PATH_LIKE_ALT = re.compile(r"^\S*(?:/|\.(?:png|jpe?g|gif|svg|webp)\b)\S*$", re.IGNORECASE)
AXE_JS = Path(__file__).resolve().parents[1] / "book" / "vendor" / "axe" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

browser = pytest.mark.browser

# Opens every folded cell, toggle and dropdown (a reader may open them all). The buttons first:
# a click toggles, so clicking one whose element is already unfolded would fold it again.
JS_UNFOLD = """() => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('button.toggle-button').forEach(b => {
        if (b.getAttribute('aria-expanded') === 'false') b.click(); });
    document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
}"""

JS_AXE = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                            resultTypes: ['violations']});
    return result.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(
        n => n.target.join(' ') + ': ' + n.html.replace(/\\s+/g, ' ').slice(0, 120))}));
}"""

JS_LAYOUT = """async () => {
    // two frames: the window's new size is laid out, and any resize handler has run
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const article = document.querySelector('article.bd-article');
    if (!article) return {error: 'no article.bd-article'};
    const box = article.getBoundingClientRect();
    const cs = getComputedStyle(article);
    const right = box.right - parseFloat(cs.paddingRight) + 1;
    const describe = e => (e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined
        ? '.' + String(e.className).trim().split(/\\s+/).join('.') : '') + ': ' +
        (e.textContent || e.getAttribute('src') || '').replace(/\\s+/g, ' ').trim().slice(0, 70));
    const shown = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
    const inMath = e => !!e.closest('mjx-container, .math');
    const scrolling = [], sticking = [], math = [];
    for (const e of article.querySelectorAll('*')) {
        if (!shown(e) || inMath(e)) continue;
        if (scrolls(e) && e.scrollWidth > e.clientWidth + 1)
            scrolling.push(`${describe(e)} (${e.scrollWidth} px of content in ${e.clientWidth} px)`);
    }
    for (const e of article.querySelectorAll(
            'pre, table, img, .jupyter-widgets, .widget-subarea, div.cell_output, div.output')) {
        if (!shown(e) || inMath(e)) continue;
        const r = e.getBoundingClientRect();
        if (r.right > right) sticking.push(`${describe(e)} (right edge ${Math.round(r.right)} px, `
                                           + `column ends at ${Math.round(right)} px)`);
    }
    for (const m of article.querySelectorAll('mjx-container[display="true"]')) {
        if (!shown(m)) continue;
        const text = (m.querySelector('mjx-assistive-mml') || m).textContent.trim().slice(0, 50);
        const wide = m.scrollWidth > m.clientWidth + 1;
        math.push({text, scrolls: wide && scrolls(m),
                   clipped: (wide && !scrolls(m)) || m.getBoundingClientRect().right > right});
    }
    const doc = document.documentElement;
    const figures = Array.from(article.querySelectorAll(
            'div.cell_output img, div.output img, div.animation img'))
        .filter(i => shown(i) && i.naturalWidth >= %(min_natural)d)
        .map(i => ({src: (i.getAttribute('src') || '').slice(0, 60), alt: i.getAttribute('alt'),
                    natural: i.naturalWidth,
                    zoom: !!i.closest('button.figure-zoom, img.figure-zoom[role=button]'),
                    shown: Math.round(i.getBoundingClientRect().width)}));
    const glue = Array.from(article.querySelectorAll('pre'))
        .filter(p => /\\bglue\\(/.test(p.textContent))
        .map(p => p.textContent.split('\\n').find(l => /\\bglue\\(/.test(l)).trim().slice(0, 80));
    return {page_width: doc.scrollWidth, window_width: doc.clientWidth,
            scrolling, sticking, math, figures, glue};
}""" % {"min_natural": MIN_FIGURE_NATURAL_WIDTH}


def measure(ctx, url: str) -> dict:
    """One visit: console errors, axe-core's violations at AXE_WIDTH, the layout at each width."""
    errors: list[str] = []
    pg = ctx.new_page()
    pg.on("console", lambda m: errors.append(f"{m.text} [{(m.location or {}).get('url', '')}]")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        pg.set_viewport_size({"width": AXE_WIDTH, "height": HEIGHT})
        pg.goto(url, wait_until="load")
        pg.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                    ".forEach(i => { i.loading = 'eager'; })")
        pg.wait_for_function("() => Array.from(document.images).every(i => i.complete)",
                             timeout=15_000)
        if pg.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
            with contextlib.suppress(Exception):     # test_book checks that they render
                pg.wait_for_function(JS_ALL_VIEWS_RENDERED, timeout=20_000)
        pg.evaluate(JS_UNFOLD)
        pg.wait_for_timeout(300)        # widgets and MathJax settle, toggles open
        pg.add_script_tag(path=str(AXE_JS))
        t0 = time.monotonic()
        axe = pg.evaluate(JS_AXE, AXE_TAGS)
        axe_seconds = time.monotonic() - t0
        widths = {}
        for width in WIDTHS:
            pg.set_viewport_size({"width": width, "height": HEIGHT})
            widths[width] = pg.evaluate(JS_LAYOUT)
        return {"axe": axe, "axe_seconds": axe_seconds, "console": errors, "widths": widths}
    finally:
        pg.close()


def problems_scrolling(m: dict) -> list[str]:
    out = []
    for width, w in m["widths"].items():
        if w["page_width"] > w["window_width"]:
            out.append(f"{width} px: the page scrolls sideways ({w['page_width']} px of page "
                       f"in a {w['window_width']} px window)")
        out += [f"{width} px: display maths cut off: {x['text']}" for x in w["math"]
                if x["clipped"]]
        if width >= NO_SCROLL_FROM:
            out += [f"{width} px: scrolls sideways: {s}" for s in w["scrolling"]]
            out += [f"{width} px: display maths scrolls sideways: {x['text']}"
                    for x in w["math"] if x["scrolls"]]
            out += [f"{width} px: wider than the column: {s}" for s in w["sticking"]]
    return out


def problems_figures(m: dict) -> list[str]:
    out = []
    for width, w in m["widths"].items():
        for f in w["figures"]:
            if f["shown"] >= MIN_FIGURE_SCALE * f["natural"]:
                continue
            if f["zoom"] and width not in DESKTOP:
                continue
            out.append(f"{width} px: figure shown at {f['shown'] / f['natural']:.0%} of its "
                       f"{f['natural']} px ({f['shown']} px; its text shrinks with it)"
                       f"{'' if f['zoom'] else ' and a tap does not open it full size'}: "
                       f"{f['src']}")
    return out


def problems_alt(m: dict) -> list[str]:
    out = []
    for f in m["widths"][AXE_WIDTH]["figures"]:
        alt = (f["alt"] or "").strip()
        if not alt:
            out.append(f"figure without alt text: {f['src']}")
        elif PATH_LIKE_ALT.match(alt):
            out.append(f"figure whose alt text is a file path, {alt!r} (give its cell "
                       f"mystnb.image.alt metadata): {f['src']}")
    return out


def problems_glue(m: dict) -> list[str]:
    return [f"a glue( call in the code on show: {line}" for line in m["widths"][AXE_WIDTH]["glue"]]


def problems_axe(m: dict) -> list[str]:
    return [f"axe {v['id']} ({v['help']}), {len(v['nodes'])}x: " + "; ".join(v["nodes"][:3])
            for v in m["axe"]]


def problems_console(m: dict) -> list[str]:
    return [f"console error: {e}" for e in m["console"]]


CHECKS = {"no_sideways_scrolling": problems_scrolling,
          "figures_readable": problems_figures,
          "figures_described": problems_alt,
          "no_glue_on_show": problems_glue,
          "accessible": problems_axe,
          "no_console_errors": problems_console}
EDITIONS = ("teacher", "student")
_SECONDS: dict[str, float] = {}
_MEASURED_ONCE: list[str] = []     # the student pages measured as the reader's (same article)


@after_build("teacher", "student")
def layouts(teacher_build, student_build, tmp_path_factory):
    """Every page of both editions, measured once (one visit each), in the background as
    soon as the builds are done (a Chromium and servers of its own), beside the other jobs."""
    need_chromium()
    for build in (teacher_build, student_build):
        require_ok(build)
    t0 = time.monotonic()
    builds = {"teacher": teacher_build, "student": student_build}
    # A student page whose article is the reader's, byte for byte (a page without a task),
    # is measured once: what differs between the editions' pages (the header, the sidebar,
    # the scripts) is measured on the student pages that have tasks.
    same = {d for d in BOOK_DOCNAMES if article(page(teacher_build, d)) == article(
        page(student_build, d))}
    with BROWSER_TURN, serve(teacher_build.html) as teacher, serve(student_build.html) as student, \
            chromium(tmp_path_factory.mktemp("chromium-layout")) as ctx:
        bases = {"teacher": teacher, "student": student}
        out = {(e, d): measure(ctx, f"{bases[e]}/{d}.html")
               for e in builds for d in BOOK_DOCNAMES if e == "teacher" or d not in same}
    _SECONDS["layouts"] = time.monotonic() - t0
    _SECONDS["axe"] = sum(m["axe_seconds"] for m in out.values())
    _MEASURED_ONCE[:] = sorted(same)
    out.update({("student", d): out["teacher", d] for d in same})
    return out


def article(path: Path) -> str:
    """The page's article element (the chapter's text, code, outputs and figures)."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find("<article"), text.find("</article>")
    assert 0 <= start < end, f"{path}: no <article> element"
    return text[start:end]


@browser
@pytest.mark.slow
@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("docname", BOOK_DOCNAMES)
@pytest.mark.parametrize("edition", EDITIONS)
def test_page_layout(layouts, edition, docname, check):
    m = layouts[edition, docname]
    assert all("error" not in w for w in m["widths"].values()), m["widths"]
    problems = CHECKS[check](m)
    assert not problems, (f"{edition} edition, {docname}: {len(problems)} problems\n"
                          + "\n".join(problems[:25]))


@browser
@pytest.mark.slow
def test_playground_legends_readable(layouts):
    """The playground's figure (80 dpi, legends in "small" type) is shown large enough at
    1280 px for its smallest text, the legends', to be at least MIN_TEXT_PX on screen."""
    from nblib.viz.playground import Playground, PlaygroundFigure

    from matplotlib.text import Text

    frame = PlaygroundFigure(Playground())
    frame.update().render_png()             # draws the legends
    fig = frame.figure
    assert any(ax.get_legend() for ax in fig.axes), "the playground's figure has no legend"
    legend_pt = min(t.get_fontsize() for t in fig.findobj(Text)
                    if t.get_visible() and t.get_text().strip())   # its smallest text
    natural_px = fig.get_figwidth() * fig.dpi
    text_px = legend_pt * fig.dpi / 72
    for edition in EDITIONS:
        shown = [f for f in layouts[edition, "book/playground"]["widths"][1280]["figures"]
                 if f["natural"] == round(natural_px)]
        assert shown, f"{edition}: no playground figure ({natural_px:.0f} px wide) on the page"
        for f in shown:
            on_screen = text_px * f["shown"] / f["natural"]
            assert on_screen >= MIN_TEXT_PX, (
                f"{edition}: the playground's smallest text is {on_screen:.1f} px at 1280 px "
                f"({legend_pt:.1f} pt at {fig.dpi:g} dpi, figure shown at {f['shown']} of "
                f"{f['natural']} px)")


@browser
@pytest.mark.slow
def test_layout_report(layouts, capsys):
    """The figures of issue 23, printed for the CI log: per width, the pages and blocks that
    scroll sideways and the figures shown below MIN_FIGURE_SCALE (with or without a tap to
    open them); axe-core's violations; console errors. Fails if the measure found no page."""
    assert len(layouts) == len(EDITIONS) * len(BOOK_DOCNAMES)
    from nblib.teaching import registry
    with_tasks = {f"book/{Path(t.notebook).stem}" for t in registry.ALL.values()}
    assert not with_tasks & set(_MEASURED_ONCE), "a page with tasks has the reader's article"
    once = len(_MEASURED_ONCE)
    lines = [f"{len(layouts)} pages (both editions) measured in {_SECONDS['layouts']:.1f} s "
             f"(axe-core: {_SECONDS['axe']:.1f} s); {once} of the student edition's have the "
             f"reader's article, measured once: {', '.join(_MEASURED_ONCE) or 'none'}"]
    for width in WIDTHS:
        ws = [m["widths"][width] for m in layouts.values()]
        small = [f for w in ws for f in w["figures"]
                 if f["shown"] < MIN_FIGURE_SCALE * f["natural"]]
        lines.append(
            f"{width:>5} px: pages scrolling sideways {sum(w['page_width'] > w['window_width'] for w in ws)}, "
            f"blocks scrolling {sum(len(w['scrolling']) for w in ws)}, "
            f"display maths scrolling {sum(x['scrolls'] for w in ws for x in w['math'])}, "
            f"cut off {sum(x['clipped'] for w in ws for x in w['math'])}; "
            f"figures {sum(len(w['figures']) for w in ws)}, shown below "
            f"{MIN_FIGURE_SCALE:.0%} {len(small)} (a tap opens {sum(f['zoom'] for f in small)})")
    lines.append(f"axe violations: {sum(len(v['nodes']) for m in layouts.values() for v in m['axe'])}; "
                 f"console errors: {sum(len(m['console']) for m in layouts.values())}")
    with capsys.disabled():                        # into the CI log, not pytest's capture
        print("\n[layout] " + "\n[layout] ".join(lines))


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
<div class="highlight-ipython3 notranslate"><div class="highlight"><pre id="wide-code"
 style="white-space: pre">
x = {long_line}
</pre></div></div></div></div>
<div class="pst-scrollable-table-container"><table class="table" id="wide-table"><tr>
<td>{long_words}</td><td style="white-space: nowrap">{long_words}</td></tr></table></div>
<div class="cell_output docutils container"><div class="output text_html">
<div class="jupyter-widgets widget-subarea" id="wide-widget" style="min-width: 2400px">a widget</div>
</div></div>
<div class="cell_output docutils container"><div class="output text_html">
<img id="shrunk-figure" alt="a figure" src="data:image/png;base64,{png}"></div></div>
<div class="cell_output docutils container"><div class="output text_html">
<img id="path-alt" alt="../_images/0123abcd.png" src="data:image/png;base64,{png_small}">
<img id="empty-alt" alt="" src="data:image/png;base64,{png_small}"></div></div>
<div class="output text_html"><img id="fixed-figure" alt="a figure that does not open"
 src="data:image/png;base64,{png_small}"></div>
<div class="highlight"><pre id="glue-code">total = 3
glue("canary_total", total, display=False)</pre></div>
<p id="wide-line" style="width: 600px">a line as wide as a tablet</p>
<img id="no-alt" src="data:image/png;base64,{png_small}" width="20">
<input id="no-name" type="range" min="0" max="3">
<script>console.error("canary: an error in the console");</script>
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
                               png=_figure_png(24), png_small=_figure_png(6))
    # after the article's own title (the page header above the article has an <h1> too)
    at = original.index(marker, original.index('<article class="bd-article"')) + len(marker)
    canary = original[:at] + injected + original[at:]
    (site / "book" / "canary.html").write_text(canary, encoding="utf-8")

    with serve(site) as base:
        clean = measure(browser_context, f"{base}/book/intro.html")
        bad = measure(browser_context, f"{base}/book/canary.html")
    for check in CHECKS.values():
        assert check(clean) == [], (check.__name__, check(clean))
    scrolling = "\n".join(problems_scrolling(bad))
    for width in (1440, 1280, 1024, 768):
        assert f"{width} px: scrolls sideways: pre" in scrolling and "x = 1 + 1" in scrolling, \
            scrolling                                                    # the code block
        assert f"{width} px: wider than the column: div.jupyter-widgets" in scrolling, scrolling
    assert "table" in scrolling and "wide wide" in scrolling, scrolling
    assert "390 px: the page scrolls sideways" in scrolling, scrolling  # the 600 px line
    assert "390 px: scrolls sideways" not in scrolling, scrolling       # a phone's blocks may
    figures = problems_figures(bad)
    # the 2400 px figure: too small on a desktop, opens full size below (reader.js)
    assert [f.split(":")[0] for f in figures if "of its 2400 px" in f] == ["1440 px", "1280 px"], \
        figures
    # the 600 px figure outside a cell's output cannot be opened: too small on a phone
    assert any(f.startswith("390 px") and "of its 600 px" in f and "does not open" in f
               for f in figures), figures
    described = problems_alt(bad)
    assert any("'../_images/0123abcd.png'" in p for p in described), described   # path-alt
    assert any(p.startswith("figure without alt text") for p in described), described  # empty-alt
    assert problems_glue(bad) == [
        'a glue( call in the code on show: glue("canary_total", total, display=False)']
    axe = "\n".join(problems_axe(bad))
    assert "axe image-alt" in axe and "no-alt" in axe, axe
    assert "no-name" in axe, axe
    assert any("canary: an error in the console" in p for p in problems_console(bad)), bad
