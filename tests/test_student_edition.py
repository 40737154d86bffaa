"""The student edition (and the reader's edition) written by teacher/student_edition.py.

- the student edition is what nbgrader's ClearSolutions/ClearHiddenTests make of the book's
  notebooks: no solution text and no hidden test in any notebook, page, ``_sources`` file or
  search index; its stubs are tagged so that the book builds with -W, and its self-checks
  report "not implemented yet" without raising;
- the reader's edition keeps the solutions and drops only the grade cells;
- the tool deletes nothing, overwrites nothing it did not write, writes through no symlink.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from nblib.teaching.registry import EXERCISES
from teacher import student_edition

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
TOOL = ROOT / "teacher" / "student_edition.py"
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "nblib.teaching.grading",
                "{solution", "solution-start", "solution-end")


def _write(out, *args):
    """Run the tool's command line (in this process: nbgrader is imported once)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = student_edition.main([str(out), *args])
    return types.SimpleNamespace(returncode=rc, stderr=err.getvalue())


def _edition_markup_problems(text):
    """Lines of a page's markdown where an edition block's markup runs into its text."""
    return [line for line in text.splitlines()
            if re.match(r"^-->.", line) or re.match(r"^<!-- /?teacher-edition -->.", line)]


def test_no_text_shares_a_line_with_an_edition_blocks_markup():
    """Text after a student-edition block's closing ``-->`` on its line is raw HTML to the
    reader's edition (the intro's "In all: ..." sentence, with its glued number, once
    vanished so); the student edition then showed it. Each marker stands on a line alone."""
    assert _edition_markup_problems("<!-- student-edition\nx\n--> In all: 3.\n") == \
        ["--> In all: 3."]
    problems = {}
    for path in sorted(BOOK.glob("*.md")) + sorted(BOOK.glob("*.ipynb")):
        texts = ([path.read_text(encoding="utf-8")] if path.suffix == ".md" else
                 [c.source for c in nbformat.read(path, as_version=4).cells
                  if c.cell_type == "markdown"])
        found = [line for text in texts for line in _edition_markup_problems(text)]
        if found:
            problems[path.name] = found
    assert problems == {}


def test_the_command_line_runs_as_a_script(tmp_path):
    proc = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "out")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "wrote the student edition" in proc.stdout


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def solution_lines(nb):
    """Lines of a source notebook's solutions (and hidden tests) found nowhere else in it:
    any of them in a student edition is a leak."""
    secret, elsewhere = [], []
    for cell in nb.cells:
        meta, src = _nbgrader(cell), cell.source
        if meta.get("solution") and "BEGIN SOLUTION" in src:
            secret += [part.split("### END SOLUTION")[0] for part in
                       src.split("### BEGIN SOLUTION")[1:]]
            elsewhere.append(re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", src,
                                    flags=re.S))
        elif meta.get("solution"):
            secret.append(src)
        elif meta.get("grade") and "BEGIN HIDDEN TESTS" in src:
            secret.append(src.split("### BEGIN HIDDEN TESTS")[1])
        else:
            elsewhere.append(src)
    elsewhere = "\n".join(elsewhere)
    return sorted({ln.strip() for part in secret for ln in part.splitlines()
                   if len(ln.strip()) >= 20 and ln.strip() not in elsewhere})


@pytest.fixture(scope="module")
def sources():
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(BOOK.glob("*.ipynb"))}


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions") / "student"
    proc = _write(out)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    out = tmp_path_factory.mktemp("editions") / "reader"
    proc = _write(out, "--reader")
    assert proc.returncode == 0, proc.stderr
    return out


# ----------------------------------------------------------------------------- what is written
def test_student_edition_layout(student):
    assert sorted(p.name for p in (student / "book").glob("*.ipynb")) == \
        sorted(p.name for p in BOOK.glob("*.ipynb"))
    assert (student / "_toc.yml").read_text() == (ROOT / "_toc.yml").read_text()
    config = (student / "_config.yml").read_text()
    assert re.search(r"^\s*hide_solutions: true\s*$", config, re.MULTILINE)
    assert re.search(r'^title: ".*\(student edition\)"$', config, re.MULTILINE)
    for page in BOOK.glob("*.md"):
        if not page.name.startswith("teacher_"):
            assert (student / "book" / page.name).read_text() == \
                student_edition.student_markdown(page.read_text(), where=page.name)
    teacher_pages = sorted(BOOK.glob("teacher_*"))
    assert teacher_pages
    for page in teacher_pages:                             # replaced by a note
        text = (student / "book" / page.name).read_text()
        assert "not in the student edition" in text and len(text) < 1200


def test_no_solution_and_no_hidden_test_in_the_student_notebooks(student, sources):
    found = 0
    for name, source in sources.items():
        prints = solution_lines(source)
        found += len(prints)
        nb = nbformat.read(student / "book" / name, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        assert not [p for p in prints if p in text], name
        for marker in LEAK_MARKERS:
            assert marker not in text, (name, marker)
        for cell in nb.cells:
            assert "nbgrader" not in cell.metadata and "solution" not in _tags(cell)
            if cell.cell_type == "code":
                assert cell.outputs == []
    assert found > 100                  # the check has something to look for


def test_stubs_are_tagged_and_starters_unfolded(student, sources):
    source = sources["05_exercises.ipynb"]
    nb = nbformat.read(student / "book" / "05_exercises.ipynb", as_version=4)
    by_id = {c.get("id"): c for c in nb.cells}
    for cell in source.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            assert cell.get("id") not in by_id                   # grade cells dropped
        elif meta.get("solution") and "BEGIN SOLUTION" in cell.source:
            starter = by_id[cell.get("id")]                      # shown, with its stubs
            assert "hide-input" not in _tags(starter)
            assert "raise NotImplementedError()" in starter.source
        elif student_edition.solution_bookkeeping(cell):
            assert cell.get("id") not in by_id                   # the teacher's bookkeeping
        elif meta.get("solution"):
            stub = by_id[cell.get("id")]                         # kept for the answer, hidden
            assert "remove-cell" in _tags(stub)
            assert ("raises-exception" in _tags(stub)) == (cell.cell_type == "code")
    assert sum("self-check" in _tags(c) for c in nb.cells) == len(EXERCISES)


def test_reader_edition_keeps_solutions_and_drops_the_grade_cells(reader, sources):
    for name, source in sources.items():
        nb = nbformat.read(reader / "book" / name, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        assert "HIDDEN TESTS" not in text and "nblib.teaching.grading" not in text, name
        kept = [c for c in source.cells
                if not (_nbgrader(c).get("grade") and not _nbgrader(c).get("solution"))]
        assert [c.source for c in nb.cells] == [c.source for c in kept], name
    assert (reader / "_config.yml").read_text() == (ROOT / "_config.yml").read_text()
    for page in BOOK.glob("teacher_*.md"):                   # teacher pages stay as they are
        assert (reader / "book" / page.name).read_text() == page.read_text()


def test_the_announcement_links_the_editions_both_ways():
    teacher = ('repository:\n  url: https://github.com/x/book\n  branch: notebooks\n'
               '  path_to_book: reader\n'
               'html:\n  use_repository_button: true\n'
               '  announcement: \'Reader\'\'s edition. <a href="https://x.io/book/student/">'
               'Student edition</a>\'\nsphinx:\n  config:\n    hide_solutions: false\n')
    config = student_edition.student_config(teacher)
    assert 'href="https://x.io/book/"' in config and "student/" not in config
    assert "hide_solutions: true" in config
    assert "path_to_book: student" in config and "use_repository_button: false" in config
    with pytest.raises(student_edition.StudentEditionError, match="path_to_book"):
        student_edition.student_config(teacher.replace("  path_to_book: reader\n", ""))
    with pytest.raises(student_edition.StudentEditionError, match="announcement must link"):
        student_edition.student_config(teacher.replace("student/", "other/"))


# ----------------------------------------------------------------------------- writing safely
def test_a_second_run_keeps_what_the_student_added_and_changed(tmp_path):
    out = tmp_path / "edition"
    assert _write(out).returncode == 0
    mine = out / "book" / "my_notes.ipynb"
    results = out / "book" / "results.csv"
    mine.write_text("{}")
    results.write_text("seed,accuracy\n0,0.97\n")
    assert _write(out).returncode == 0                 # the student's files are left alone
    assert mine.read_text() == "{}" and results.exists()
    work = out / "book" / "05_exercises.ipynb"
    work.write_text(work.read_text().replace("raise NotImplementedError()", "return x", 1))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = _write(out)
    assert proc.returncode == 2
    assert "05_exercises.ipynb was changed since" in proc.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing written


def test_a_symlinked_config_is_not_written_through(tmp_path):
    out = tmp_path / "edition"
    teacher_config = tmp_path / "teachers_config.yml"
    shutil.copy(ROOT / "_config.yml", teacher_config)
    before = teacher_config.read_text()
    assert _write(out).returncode == 0
    (out / "_config.yml").unlink()
    (out / "_config.yml").symlink_to(teacher_config)
    proc = _write(out)
    assert proc.returncode == 2
    assert "_config.yml is a symbolic link" in proc.stderr and "refusing" in proc.stderr
    assert teacher_config.read_text() == before
    # a symlinked folder inside OUT is refused the same way
    (out / "_config.yml").unlink()
    shutil.move(out / "book", tmp_path / "elsewhere")
    (out / "book").symlink_to(tmp_path / "elsewhere")
    proc = _write(out)
    assert proc.returncode == 2 and "book is a symbolic link" in proc.stderr


def test_a_foreign_folder_is_refused(tmp_path):
    out = tmp_path / "edition"
    out.mkdir()
    (out / "thesis.tex").write_text("mine")
    proc = _write(out)
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_a_solution_nbgrader_would_not_remove_stops_the_tool(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(BOOK, src / "book", ignore=shutil.ignore_patterns("vendor"))
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, src / name)
    (src / "book" / "intro.md").write_text("# Intro\n\n```{solution} ex-x\nThe answer.\n```\n")
    proc = _write(tmp_path / "out", "--source", str(src))
    assert proc.returncode == 2 and "intro.md holds a {solution} directive" in proc.stderr
    assert not (tmp_path / "out").exists()
    (src / "book" / "intro.md").write_text("# Intro\n")
    path = src / "book" / "05_exercises.ipynb"
    nb = json.loads(path.read_text())
    gated = next(c for c in nb["cells"] if "{solution-start}" in "".join(c["source"]))
    del gated["metadata"]["nbgrader"]
    path.write_text(json.dumps(nb))
    proc = _write(tmp_path / "out", "--source", str(src))
    assert proc.returncode == 2 and "not an nbgrader solution cell" in proc.stderr


# ----------------------------------------------------------------------------- the built books
def test_student_book_builds_and_its_selfchecks_report_not_implemented(student_build):
    assert student_build.ok, student_build.failure_report()
    nb = student_build.executed("book/05_exercises")
    reports = []
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        assert not errors or "raises-exception" in _tags(cell), cell.get("id")
        if "self-check" in _tags(cell):
            reports.append("".join(o.get("text", "") for o in cell.outputs))
    assert len(reports) == len(EXERCISES)
    assert all("FAIL - not implemented yet" in r for r in reports), reports


def test_student_html_has_no_solution_and_no_hidden_test(student_build, sources):
    html = student_build.html              # checked even if a page failed to build
    assert (html / "book" / "05_exercises.html").is_file(), student_build.failure_report()
    files = [p for p in html.rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".ipynb",
                                                                          ".txt", ".md")
             and "_static" not in p.parts]
    assert (html / "searchindex.js") in files
    assert any(p.suffix == ".ipynb" for p in files)              # _sources: the downloads
    prints = [p for nb in sources.values() for p in solution_lines(nb)]
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        leaked = [p for p in prints if p in text]
        assert not leaked, (path.relative_to(html), leaked[:3])
        for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "nblib.teaching.grading"):
            assert marker not in text, (path.relative_to(html), marker)
    page = re.sub(r"<[^>]+>", "", (html / "book" / "05_exercises.html").read_text())
    assert "YOUR ANSWER HERE" not in page and "class MyLayerNorm(Module)" in page   # starters


def test_teacher_book_runs_the_hidden_tests_and_shows_none(teacher_build):
    assert teacher_build.ok, teacher_build.failure_report()
    nb = teacher_build.executed("book/05_exercises")
    graded = [c for c in nb.cells if "grade" in _tags(c)]
    from nblib.teaching.registry import grade_cells
    assert len(graded) == sum(len(grade_cells(t)) for t in EXERCISES)   # one per rubric item
    for cell in graded:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "(hidden test, seed" in text and ": PASS - " in text, cell.get("id")
    for notebook in BOOK.glob("*.ipynb"):       # the pages made from the notebooks
        text = (teacher_build.html / "book" / f"{notebook.stem}.html").read_text()
        assert "HIDDEN TESTS" not in text and "nblib.teaching.grading" not in text, notebook.name


def test_edition_blocks_give_each_edition_its_own_words():
    text = ("# Page\n\nfor everyone\n<!-- teacher-edition -->\nsolutions are folded\n"
            "<!-- /teacher-edition -->\n<!-- student-edition\nno solutions here\n-->\nend\n")
    out = student_edition.student_markdown(text, where="p.md")
    assert out == "# Page\n\nfor everyone\nno solutions here\nend\n"
    with pytest.raises(student_edition.StudentEditionError, match="not closed"):
        student_edition.student_markdown("<!-- teacher-edition -->\nleft open\n", where="p.md")


def test_the_intro_describes_the_edition_it_is_in():
    intro = (ROOT / "book" / "intro.md").read_text()
    student = student_edition.student_markdown(intro, where="book/intro.md")
    assert "reader's edition" in intro and "reader's edition" not in student
    assert "This is the student edition" in student and "<!--" not in student


def test_the_exercise_page_describes_the_edition_it_is_in():
    import nbformat
    nb = nbformat.read(BOOK / "05_exercises.ipynb", as_version=4)
    reader = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    student = "\n".join(c.source for c in student_edition.student_notebook(nb, "05").cells
                        if c.cell_type == "markdown")
    assert "reader's edition" in reader and "folded" in reader
    assert "reader's edition" not in student and "folded" not in student
    assert "raise NotImplementedError()" in student and "<!--" not in student


def test_the_published_site_holds_no_hidden_test_and_links_the_editions(teacher_build,
                                                                        student_build,
                                                                        tmp_path):
    """What Pages publishes (tasks.py site): both editions, no grade cell anywhere."""
    import tasks
    assert teacher_build.ok and student_build.ok
    site = tasks.assemble_site(teacher_build.html, student_build.html, tmp_path / "site",
                               python=Path(sys.executable))
    assert (site / "index.html").is_file() and (site / "student" / "index.html").is_file()
    # the hidden tests: each grade cell's hidden lines (the teacher pages quote the format)
    hidden = {"### BEGIN HIDDEN TESTS"}
    for path in BOOK.glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                body = "".join(cell["source"]).split("### BEGIN HIDDEN TESTS")[-1]
                hidden |= {l.strip() for l in body.splitlines()
                           if "grade(" in l and "import" not in l}
    docs = (BOOK / "teacher_grading.md").read_text()     # quotes one, as an example
    hidden = {h for h in hidden if h not in docs}
    assert len(hidden) > 10
    found = [str(p.relative_to(site)) for p in site.rglob("*")
             if p.is_file() and p.suffix in {".html", ".ipynb", ".js", ".txt", ".md"}
             and any(h in p.read_text(errors="replace") for h in hidden)]
    assert not found, found
    for notebook in site.rglob("*.ipynb"):                  # no grade cell at all
        cells = json.loads(notebook.read_text())["cells"]
        assert not [c for c in cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
                    and not c["metadata"]["nbgrader"].get("solution")], notebook
    # the probe can fail: the notebooks the teacher build was made from hold the hidden tests
    assert "BEGIN HIDDEN TESTS" in (BOOK / "02_network.ipynb").read_text()
    reader_page = (site / "book" / "02_network.html").read_text()
    student_page = (site / "student" / "book" / "02_network.html").read_text()
    assert "student/\">The student edition</a>" in reader_page
    assert 'spiral-book/">The reader' in student_page           # and back


# ----------------------------------------------------------------------------- links out
def _source_notebooks():
    return {p.name: nbformat.read(p, as_version=4) for p in sorted(BOOK.glob("*.ipynb"))}


RAW_MYST = re.compile(r"\{[a-z][\w-]*(?::[\w-]+)?\}`|`{3,}\{|:{3,}\{|^\([\w-]+\)=\s*$", re.M)
COLAB = re.compile(r"^https://colab\.research\.google\.com/github/(?P<org>[\w.-]+)/"
                   r"(?P<repo>[\w.-]+)/blob/(?P<branch>[\w.-]+)/(?P<path>.+\.ipynb)$")


def _links_out(html_root: Path):
    """(page, kind, href) of every launch and download link on the pages of one edition."""
    for page in sorted(html_root.rglob("*.html")):
        if page.relative_to(html_root).parts[0] in ("_static", "student", "genindex"):
            continue
        for href in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8")):
            if "colab.research.google.com" in href or "mybinder" in href:
                yield page, "launch", href
            elif "_sources/" in href:
                yield page, "download", href


def test_every_launch_and_download_link_opens_a_clean_notebook_of_its_edition(
        teacher_build, student_build, tmp_path):
    """What each edition's Colab and download buttons open: a notebook of that edition, on the
    branch and in the folder _config.yml names, with numbers filled in, no MyST, no autograder
    cell, and (from the student edition) no solution."""
    import tasks
    import yaml
    from teacher.plain_notebooks import edition_links
    assert teacher_build.ok and student_build.ok
    site, branch = tmp_path / "site", tmp_path / "branch"
    tasks.assemble_site(teacher_build.html, student_build.html, site, branch=branch)
    prints = [p for nb in _source_notebooks().values() for p in solution_lines(nb)]
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    counts = {}
    for edition, root in (("reader", site), ("student", site / "student")):
        folder = edition_links(config if edition == "reader" else yaml.safe_load(
            (student_build.root / "_config.yml").read_text()), edition)["folder"]
        for page, kind, href in _links_out(root):
            where = f"{edition}: {page.relative_to(root)}: {href}"
            if kind == "launch":
                found = COLAB.match(href)
                assert found, f"{where}: not a Colab link to a GitHub notebook (Binder is off)"
                repo = config["repository"]
                assert (f"https://github.com/{found['org']}/{found['repo']}" == repo["url"]
                        and found["branch"] == repo["branch"]), where
                assert found["path"].startswith(f"{folder}/"), f"{where}: another edition's"
                target = branch / found["path"]
            else:
                if not href.endswith(".ipynb"):
                    continue                                   # a page's .md source
                target = (page.parent / href).resolve()
            assert target.is_file(), f"{where}: nothing there ({target})"
            nb = nbformat.read(target, as_version=4)
            text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
            assert not RAW_MYST.search(text), f"{where}: raw MyST {RAW_MYST.search(text)[0]}"
            assert not [c for c in nb.cells if "nbgrader" in c.metadata], where
            everything = "\n".join(c.source for c in nb.cells)
            assert "HIDDEN TESTS" not in everything, where
            if edition == "student":
                leaked = [p for p in prints if p in everything]
                assert not leaked and "BEGIN SOLUTION" not in everything, (where, leaked[:2])
                assert "reader's edition" not in everything, where   # no pointer to answers
            counts[(edition, kind)] = counts.get((edition, kind), 0) + 1
    # every notebook page of both editions has its two buttons
    assert counts[("reader", "launch")] >= 9 and counts[("student", "launch")] >= 8, counts
    assert counts[("reader", "download")] >= 9 and counts[("student", "download")] >= 8, counts


def test_the_nbgrader_release_reads_like_the_student_page(teacher_build, tmp_path):
    """teacher/course.py, given the build, then nbgrader's own generate_assignment: each
    release notebook has the build's numbers, no MyST, the student edition's words, no
    solution and no hidden test."""
    import os
    assert teacher_build.ok
    course = tmp_path / "course"
    proc = subprocess.run([sys.executable, str(ROOT / "teacher" / "course.py"), str(course),
                           "--executed", str(teacher_build.build_dir / "executed")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assignments = sorted(p.name for p in (course / "source").iterdir())
    assert "05_exercises" in assignments and len(assignments) >= 4, assignments
    nbgrader = Path(sys.executable).with_name("nbgrader")
    env = dict(os.environ, PATH=f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    prints = [p for nb in _source_notebooks().values() for p in solution_lines(nb)]
    for name in assignments:
        proc = subprocess.run([str(nbgrader), "generate_assignment", name], cwd=course, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        nb = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        everything = "\n".join(c.source for c in nb.cells)
        assert not RAW_MYST.search(markdown), (name, RAW_MYST.search(markdown)[0])
        assert "reader's edition" not in everything, name
        assert "Reading time: about" in markdown, name              # a number filled in
        leaked = [p for p in prints if p in everything]
        assert not leaked and "HIDDEN TESTS" not in everything, (name, leaked[:2])
        hidden = [c for c in nb.cells if "remove-cell" in c.metadata.get("tags", [])]
        assert hidden and all(c.metadata.get("jupyter", {}).get("source_hidden")
                              for c in hidden), name


def test_the_student_edition_has_no_button_to_the_sources(student_build):
    """The repository button would open book/*.ipynb, every solution in it."""
    assert student_build.ok
    page = (student_build.html / "book" / "02_network.html").read_text()
    assert "github.com/nn-from-scratch/spiral-book\"" not in page.replace("/issues", "")
    assert "Source repository" not in page


def _stub_problems(nb, where):
    """What is wrong with the stubs of a notebook a student opens: a stub folded or titled
    as bookkeeping (the student's own work out of sight), a stub after which nothing is
    the student's (a solution's hidden bookkeeping released as a stub that raises)."""
    code_stub = student_edition._stubs()[0].strip()
    problems = []
    for cell in nb.cells:
        if cell.cell_type != "code" or code_stub not in cell.source:
            continue
        hidden = cell.metadata.get("jupyter", {}).get("source_hidden")
        if hidden or cell.source.startswith("# @title"):
            problems.append(f"{where} {cell.get('id')}: a stub folded as bookkeeping")
    return problems


def test_students_write_their_experiments_in_sight_and_no_bookkeeping_is_theirs(tmp_path):
    """A worked experiment of 05 is the student's to write: in the student edition's
    notebook and in the course's release, its stub is in sight, not folded under the
    bookkeeping title; and the hidden bookkeeping that follows it in the book (glue and
    asserts on the teacher's results, nbgrader solution cells) is left out, where it was
    once released as a folded stub that raised after the student's own experiment."""
    from nbgrader.preprocessors import ClearSolutions

    from conftest import stand_in_executed
    from teacher.plain_notebooks import plain_book

    source = nbformat.read(BOOK / "05_exercises.ipynb", as_version=4)
    bookkeeping = [c.id for c in source.cells if student_edition.solution_bookkeeping(c)]
    work = [c.id for c in source.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("solution")
            and not student_edition.solution_bookkeeping(c) and "starter" not in
            c.metadata.get("tags", []) and "hide-input" not in c.metadata.get("tags", [])]
    assert len(bookkeeping) >= 7 and len(work) >= 7, (bookkeeping, work)

    executed = stand_in_executed(tmp_path / "ran")
    course = plain_book(ROOT, executed, nbgrader=True, student=True)["book/05_exercises.ipynb"]
    release, _ = ClearSolutions().preprocess(nbformat.from_dict(course), {})
    edition = tmp_path / "student"
    student_edition.write_student_edition(edition, ROOT)
    (tmp_path / "ran-student").symlink_to(executed, target_is_directory=True)
    student = plain_book(edition, executed, student=True)["book/05_exercises.ipynb"]
    for where, nb in (("release", release), ("student edition", student)):
        ids = {c.get("id") for c in nb.cells}
        assert not ids & set(bookkeeping), (where, sorted(ids & set(bookkeeping)))
        assert set(work) <= ids, (where, sorted(set(work) - ids))
        assert _stub_problems(nb, where) == []
        stubs = [c for c in nb.cells if c.get("id") in work]
        assert all("NotImplementedError" in c.source for c in stubs), where


def test_the_stub_check_sees_a_folded_stub():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "# @title Hidden\n" + student_edition._stubs()[0], metadata={
            "jupyter": {"source_hidden": True}})])
    assert _stub_problems(nb, "x")
