"""teacher/plain_notebooks.py: the notebooks every front end but the HTML book opens.

Fast tests on a small made-up book (no build): each MyST construct the book uses becomes plain
Markdown, numbers come from what the build glued, formatted as myst-nb formats them, the page's
bookkeeping is collapsed but kept, the autograder's cells are dropped, the install line follows
``_config.yml``, and anything unknown stops the tool instead of reaching a student raw.
The built editions' own copies are tested in test_jupyterlab_browser.py and test_links.py.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.formatters import format_display_data

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from teacher import plain_notebooks as pn  # noqa: E402
from teacher.student_edition import student_config  # noqa: E402

CONFIG = """\
title: "Test book"
repository:
  url: https://github.com/some-org/some-book
  branch: notebooks
  path_to_book: reader
sphinx:
  config:
    hide_solutions: false
"""


def glued(name, value):
    """The output myst-nb's glue(name, value, display=False) leaves in an executed notebook."""
    from myst_nb.ext.glue import GLUE_PREFIX

    bundle, metadata = format_display_data(value)
    metadata["scrapbook"] = {"name": name, "mime_prefix": GLUE_PREFIX}
    return nbformat.v4.new_output("display_data", data={GLUE_PREFIX + k: v
                                                        for k, v in bundle.items()},
                                  metadata=metadata)


def markdown_value(text):
    from IPython.display import Markdown
    return Markdown(text)


def make_book(tmp_path, markdown, values, *, cells=(), config=CONFIG, other_values=None):
    """A book of one notebook (book/page) whose first cell is ``markdown``, plus intro.md and
    book/other; returns (source root, executed folder)."""
    src, ran = tmp_path / "src", tmp_path / "executed"
    (src / "book").mkdir(parents=True)
    (src / "_config.yml").write_text(config)
    (src / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n"
                                  "- file: book/page\n- file: book/other\n")
    (src / "book" / "intro.md").write_text("# The introduction\n\nText.\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown), *cells])
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Other page")])
    nbformat.write(nb, src / "book" / "page.ipynb")
    nbformat.write(other, src / "book" / "other.ipynb")
    executed = nbformat.from_dict(nb)
    executed.cells.append(nbformat.v4.new_code_cell(
        "glue(...)", outputs=[glued(k, v) for k, v in values.items()]))
    other_run = nbformat.from_dict(other)
    other_run.cells.append(nbformat.v4.new_code_cell("", outputs=[
        glued(k, v) for k, v in (other_values or {}).items()]))
    (ran / "book").mkdir(parents=True)
    nbformat.write(executed, ran / "book" / "page.ipynb")
    nbformat.write(other_run, ran / "book" / "other.ipynb")
    return src, ran


def convert(tmp_path, markdown, values=None, **kw):
    src, ran = make_book(tmp_path, markdown, values or {}, **kw)
    written = pn.write_plain_notebooks(src, ran, tmp_path / "out")
    assert sorted(p.name for p in written) == ["other.ipynb", "page.ipynb"]
    return nbformat.read(tmp_path / "out" / "book" / "page.ipynb", as_version=4)


def first_markdown(nb):
    return nb.cells[0].source


# ----------------------------------------------------------------------------- numbers
def test_glued_numbers_are_filled_in_as_myst_nb_formats_them(tmp_path):
    nb = convert(tmp_path, "Accuracy {glue:text}`acc:.1%`, {glue:text}`n` points, "
                           "{glue:text}`name`, loss {glue:text}`loss:.3f`, "
                           "gap {glue:text}`gap:+.1%`.",
                 {"acc": 0.97512, "n": 1200, "name": "Adam", "loss": 0.06543, "gap": -0.004})
    assert first_markdown(nb) == ("Accuracy 97.5%, 1200 points, Adam, loss 0.065, gap -0.4%.")


def test_glued_markdown_and_another_pages_values(tmp_path):
    nb = convert(tmp_path, "Verdict: {glue:md}`verdict`. Time: "
                           "{glue:text}`other.ipynb::minutes:s`.",
                 {"verdict": markdown_value("**no difference** we can detect")},
                 other_values={"minutes": "about 40 minutes"})
    assert first_markdown(nb) == ("Verdict: **no difference** we can detect. "
                                  "Time: about 40 minutes.")


def test_a_value_the_build_did_not_glue_stops_the_tool_naming_it(tmp_path):
    with pytest.raises(pn.PlainNotebookError, match=r"page.ipynb, cell 0.*'missing'"):
        convert(tmp_path, "{glue:text}`missing`", {"other": 1})
    assert not (tmp_path / "out").exists()           # nothing written


# ----------------------------------------------------------------------------- boxes, links
def test_boxes_become_quotes_with_their_titles(tmp_path):
    text = ("Before.\n\n````{exercise} LayerNorm\n:label: ex-ln\n\nDo this:\n\n"
            "```python\nx = 1\n```\n\n$$\na = b\n$$\n````\n\nAfter.\n\n"
            ":::{admonition} Why it works\n:class: tip\nBecause.\n:::\n\n"
            "```{note}\nA note.\n```\n")
    nb = convert(tmp_path, text)
    assert first_markdown(nb) == (
        "Before.\n\n> **Exercise: LayerNorm**\n>\n> Do this:\n>\n> ```python\n> x = 1\n"
        "> ```\n>\n> $$\n> a = b\n> $$\n\nAfter.\n\n> **Why it works**\n>\n> Because.\n\n"
        "> **Note**\n>\n> A note.")


def test_solution_markers_become_a_heading_with_the_exercises_title(tmp_path):
    start = nbformat.v4.new_markdown_cell("```{solution-start} ex-ln\n:class: dropdown\n```\n\n"
                                          "The answer.")
    end = nbformat.v4.new_markdown_cell("```{solution-end}\n```")
    nb = convert(tmp_path, "````{exercise} LayerNorm\n:label: ex-ln\n\nTask.\n````",
                 cells=[start, end])
    assert nb.cells[1].source == "#### Solution: LayerNorm\n\nThe answer."
    assert nb.cells[2].source.strip() == ""


def test_doc_links_go_to_the_notebook_or_the_published_page(tmp_path):
    nb = convert(tmp_path, "See {doc}`other`, {doc}`the other page <other>` and {doc}`intro`.")
    assert first_markdown(nb) == (
        "See [Other page](other.ipynb), [the other page](other.ipynb) and "
        "[The introduction](https://some-org.github.io/some-book/book/intro.html).")


def test_labels_go_and_unknown_myst_stops_the_tool(tmp_path):
    assert first_markdown(convert(tmp_path, "(sec-a)=\n## A")) == "## A"
    with pytest.raises(pn.PlainNotebookError, match=r"\{ref\} role"):
        convert(tmp_path / "2", "See {ref}`sec-a`.")
    with pytest.raises(pn.PlainNotebookError, match=r"\{figure\} directive"):
        convert(tmp_path / "3", "```{figure} a.png\n```")
    with pytest.raises(pn.PlainNotebookError, match="not closed"):
        convert(tmp_path / "4", "````{exercise} A\ntext\n")


# ----------------------------------------------------------------------------- code cells
def test_bookkeeping_is_collapsed_but_kept_and_outputs_cleared(tmp_path):
    keep = nbformat.v4.new_code_cell("glue('x', 1)\nassert True", metadata={"tags": ["remove-cell"]})
    folded = nbformat.v4.new_code_cell("def f(): pass", metadata={"tags": ["hide-input"]})
    shown = nbformat.v4.new_code_cell("print(1)", execution_count=3,
                                      outputs=[nbformat.v4.new_output("stream", text="1\n")])
    nb = convert(tmp_path, "# Page", cells=[keep, folded, shown])
    keep, folded, shown = nb.cells[1:]
    assert keep.metadata.jupyter == {"source_hidden": True, "outputs_hidden": True}
    assert keep.metadata.cellView == "form" and keep.source.startswith("# @title ")
    assert keep.source.endswith("glue('x', 1)\nassert True")             # still runs
    assert folded.metadata.jupyter == {"source_hidden": True} and "cellView" not in folded.metadata
    assert "jupyter" not in shown.metadata and shown.outputs == [] and shown.execution_count is None


def test_autograder_cells_are_dropped_and_nbgrader_metadata_removed(tmp_path):
    answer = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": False, "solution": True, "grade_id": "a", "locked": False, "schema_version": 3}})
    hidden = nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert x\n", metadata={
        "nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 2,
                     "locked": True, "schema_version": 3}})
    nb = convert(tmp_path, "# Page", cells=[answer, hidden])
    assert [c.source for c in nb.cells[1:]] == ["x = 1"]
    assert "nbgrader" not in json.dumps(nb.cells)


def test_the_install_line_follows_the_repository_setting(tmp_path):
    install = nbformat.v4.new_code_cell(
        'try:\n    import nblib\nexcept ImportError:\n'
        '    %pip install -q "nblib @ git+https://github.com/old/place"\n',
        metadata={"tags": ["remove-cell"]})
    nb = convert(tmp_path, "# Page", cells=[install])
    assert ('%pip install -q "nblib @ git+https://github.com/some-org/some-book@notebooks'
            '#subdirectory=reader"') in nb.cells[1].source
    student = convert(tmp_path / "s", "# Page", cells=[install], config=student_config(
        CONFIG.replace("hide_solutions: false", "hide_solutions: false\n")))
    assert "#subdirectory=student" in student.cells[1].source


def test_edition_links_are_derived_from_one_setting():
    import yaml
    config = yaml.safe_load(CONFIG)
    links = pn.edition_links(config, "reader")
    assert links == {"site": "https://some-org.github.io/some-book/",
                     "install": "nblib @ git+https://github.com/some-org/some-book@notebooks"
                                "#subdirectory=reader",
                     "folder": "reader",
                     "notebooks": "https://github.com/some-org/some-book/tree/notebooks/reader/book"}
    student = yaml.safe_load(student_config(CONFIG))
    assert pn.edition_links(student, "student")["site"].endswith("/some-book/student/")
    with pytest.raises(pn.PlainNotebookError, match="path_to_book"):
        pn.edition_links(config, "student")             # the reader's folder for the student
    with pytest.raises(ValueError, match="edition must be"):
        pn.edition_links(config, "teacher")


def test_the_tool_never_overwrites_a_file_it_did_not_write(tmp_path):
    src, ran = make_book(tmp_path, "# Page", {})
    out = tmp_path / "out"
    (out / "book").mkdir(parents=True)
    (out / "book" / "page.ipynb").write_text("the student's work")
    with pytest.raises(pn.PlainNotebookError, match="not written by"):
        pn.write_plain_notebooks(src, ran, out)
    assert (out / "book" / "page.ipynb").read_text() == "the student's work"
    fresh = tmp_path / "fresh"
    pn.write_plain_notebooks(src, ran, fresh)
    (fresh / "book" / "page.ipynb").write_text("edited since")
    with pytest.raises(pn.PlainNotebookError, match="changed since"):
        pn.write_plain_notebooks(src, ran, fresh)
    assert (fresh / "book" / "page.ipynb").read_text() == "edited since"


def test_the_command_line_reports_errors_without_a_traceback(tmp_path, capsys):
    assert pn.main([str(tmp_path / "nowhere"), str(tmp_path), str(tmp_path / "o")]) == 2
    assert "error:" in capsys.readouterr().err


# ----------------------------------------------------------------------------- nblib's glue
def test_glue_is_myst_nbs_in_the_build_and_nothing_elsewhere(monkeypatch, tmp_path):
    """The page's bookkeeping runs in Colab (no myst-nb): glue does nothing there, and the
    reading time (whose prose is already filled in) is not measured."""
    from nblib.pages import glue as glue_module
    from nblib.pages.reading import glue_book_reading_time, glue_reading_time

    calls = []
    monkeypatch.setattr(glue_module, "_myst_nb_glue", lambda *a, **kw: calls.append((a, kw)))
    glue_module.glue("x", 1, display=False)
    assert calls == [(("x", 1), {"display": False})] and glue_module.building()
    monkeypatch.setattr(glue_module, "_myst_nb_glue", None)
    glue_module.glue("x", 2, display=False)
    assert len(calls) == 1 and not glue_module.building()
    assert glue_reading_time(tmp_path / "no-such.ipynb") is None
    assert glue_book_reading_time(tmp_path) == {}
    with pytest.raises(TypeError, match="name must be"):
        glue_module.glue("", 1)


def test_a_page_on_its_own_glues_no_book_reading_time(monkeypatch, tmp_path):
    """01's last hidden cell measures every page for the intro. A student's 01 alone in a
    folder (a download, an nbgrader assignment) with myst-nb installed measures nothing and
    does not stop there (it raised FileNotFoundError on the first page it could not find)."""
    import shutil

    from nblib.pages import glue as glue_module
    from nblib.pages.reading import READER_PAGES, glue_book_reading_time

    glued = []
    monkeypatch.setattr(glue_module, "_myst_nb_glue", lambda *a, **kw: glued.append(a))
    shutil.copy(ROOT / "book" / "01_data.ipynb", tmp_path / "01_data.ipynb")
    assert glue_book_reading_time(tmp_path) == {} and glued == []
    for stem in READER_PAGES:
        shutil.copy(ROOT / "book" / f"{stem}.ipynb", tmp_path / f"{stem}.ipynb")
    assert set(glue_book_reading_time(tmp_path)) == set(READER_PAGES) and glued


# ----------------------------------------------------------------------------- one setting
def test_readme_announcement_and_install_lines_follow_the_one_setting():
    """Everything that names where the book lives agrees with _config.yml's repository."""
    import re

    import yaml
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    links = pn.edition_links(config, "reader")
    url = config["repository"]["url"]
    student_site = pn.edition_links(yaml.safe_load(student_config(
        (ROOT / "_config.yml").read_text())), "student")["site"]
    assert student_site == links["site"] + "student/"
    assert f'href="{student_site}"' in config["html"]["announcement"]
    readme = (ROOT / "README.md").read_text()
    assert links["site"] in readme
    named = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+|https://[\w-]+\.github\.io/"
                           r"[\w.-]+/", readme))
    assert named <= {url, links["site"]}, named - {url, links["site"]}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        lines = [line for cell in nbformat.read(path, as_version=4).cells
                 for line in cell.source.splitlines() if "%pip install" in line]
        assert all(f'"nblib @ git+{url}"' in line for line in lines), (path.name, lines)


def test_wall_clock_values_read_as_numbers_and_say_what_they_are():
    from myst_nb.core.variables import format_plain_text

    from nblib.pages.glue import WallClock, wall_clock
    value = wall_clock(9.8765)
    assert isinstance(value, WallClock) and value == 9.8765
    assert repr(value) == "9.8765  # wall clock"
    assert format_plain_text(repr(value), ".1f") == "9.9"          # the prose reads the number
    assert format_plain_text(repr(value), "") == "9.8765"
    for bad in ("9.8", None, True):
        with pytest.raises(TypeError, match="value must be a number"):
            wall_clock(bad)
