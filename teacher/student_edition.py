"""Write the student edition of the book: the same pages, with no solutions and no tests.

    python teacher/student_edition.py OUTDIR [--source BOOK_ROOT]
    python teacher/student_edition.py --reader OUTDIR [--source BOOK_ROOT]

The notebooks under ``book/`` are nbgrader source notebooks, and the student
edition is made of them the way ``nbgrader generate_assignment`` makes a
release, with nbgrader's own preprocessors:

- ``ClearSolutions``: every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region
  becomes ``raise NotImplementedError()``, and every other nbgrader solution cell
  (a worked experiment, a written answer) becomes a stub;
- ``ClearHiddenTests`` and ``ClearOutput``.

Then, for a book that builds (``jupyter-book build OUTDIR -W``) and shows nothing
a student could not use:

- the autograder's grade cells are dropped (they are nbgrader's, not the reader's), and so
  is a solution's hidden bookkeeping (an nbgrader solution cell tagged ``remove-cell``: the
  glue and asserts that follow a worked experiment), which is not the student's to write
  (``solution_bookkeeping``);
- a cell that is now only a stub is tagged ``remove-cell`` (and, if code,
  ``raises-exception``): it stays in the notebook, for the student's answer, but
  not on the page;
- a starter (a solution cell that kept its signature and docstring) loses
  ``hide-input``: in the reader's edition the solution is folded, here the starter
  is the point;
- teacher-only pages (``book/teacher_*``) are replaced by a short note;
- ``_config.yml`` gets ``hide_solutions: true``, "(student edition)" in the
  title, ``path_to_book: student`` (its launch buttons open the student notebooks), no
  repository button (it would open the sources, solutions and all), and the announcement
  that links to the other edition is turned around.

``--reader`` writes the reader's edition instead, the one to publish beside it: the
book as it is (solutions folded), with only the autograder's grade cells dropped
(their hidden tests would otherwise be in the pages' downloadable sources).

A solution that nbgrader would not remove (a ``{solution}`` directive outside an
nbgrader solution cell, or in a markdown page) stops the tool with an error
instead of reaching the students.

The tool never deletes a file, and never overwrites one it did not write: it
keeps a list of what it wrote, with checksums, in ``OUTDIR/.student-edition``,
and refuses (changing nothing) when a file it would write exists and is not on
that list, or has changed since (the student's work), or when a path inside
OUTDIR is a symbolic link.
"""
from __future__ import annotations

import argparse
import functools
import re
import sys
from pathlib import Path

if __package__ in (None, ""):                      # run as a script: python teacher/...
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from teacher.safe_write import UnsafeWrite, write_files  # noqa: E402

MANIFEST = ".student-edition"
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", "_build", ".jupyter_cache"}
TEACHER_ONLY = re.compile(r"^book/teacher_[^/]*$")
TEACHER_ONLY_NOTE = ("This page is part of the reader's (teacher's) edition of the book only: "
                     "it is not in the student edition.\n")
_SOLUTION_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\s*\{solution(-start|-end)?\}", re.MULTILINE)


class StudentEditionError(ValueError):
    """The student edition cannot be written safely; nothing was written."""


# ----------------------------------------------------------------------------- notebooks
def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@functools.lru_cache(maxsize=None)
def _stubs():
    from nbgrader.preprocessors import ClearSolutions

    stub = ClearSolutions()
    return stub.code_stub["python"], stub.text_stub


def solution_bookkeeping(cell) -> bool:
    """Whether ``cell`` is a solution's hidden bookkeeping: an nbgrader solution cell that
    the page hides (``remove-cell``), e.g. the glue and asserts after a worked experiment.
    A release would turn it into a stub that raises, hidden, after the student's own
    experiment; the student editions and the course's notebooks leave it out."""
    return bool(_nbgrader(cell).get("solution")) and \
        "remove-cell" in cell.get("metadata", {}).get("tags", [])


def is_stub(cell) -> bool:
    """Whether ``cell`` is what nbgrader leaves of a solution: the student's to write."""
    code_stub, text_stub = _stubs()
    return cell.source.strip() in (code_stub.strip(), text_stub.strip())


def student_notebook(nb, where="notebook", *, reader=False):
    """A copy of ``nb`` (an nbformat NotebookNode) as the student edition shows it
    (``reader=True``: as the reader's edition shows it, solutions kept)."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    out = nbformat.from_dict(nb)
    for cell in out.cells:
        if reader:
            break
        if (cell.cell_type == "markdown" and not _nbgrader(cell).get("solution")
                and _SOLUTION_DIRECTIVE.search(cell.source)):
            raise StudentEditionError(
                f"{where}: cell {cell.get('id')!r} holds a {{solution}} directive but is not an "
                "nbgrader solution cell, so nbgrader would leave it in the student edition")
    resources = {}
    preprocessors = (ClearHiddenTests, ClearOutput) if reader else (ClearSolutions,
                                                                    ClearHiddenTests, ClearOutput)
    for preprocessor in preprocessors:
        try:
            out, resources = preprocessor().preprocess(out, resources)
        except RuntimeError as err:             # nbgrader's words for unmatched markers
            raise StudentEditionError(f"{where}: {err}") from None
    cells = []
    for cell in out.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue                                   # an autograder test cell
        if not reader and solution_bookkeeping(cell):
            continue                                   # the teacher's, not the student's
        tags = list(cell.metadata.get("tags", []))
        if reader:
            cells.append(cell)
            continue
        if meta.get("solution"):
            if is_stub(cell):
                tags += ["remove-cell"] + (["raises-exception"] if cell.cell_type == "code"
                                           else [])
            else:
                tags = [t for t in tags if t not in ("hide-input", "hide-cell")]
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "markdown":               # the edition's own words
            cell.source = _edition_blocks(cell.source, where)
        if tags:
            cell.metadata["tags"] = list(dict.fromkeys(tags))
        else:
            cell.metadata.pop("tags", None)
        cells.append(cell)
    out.cells = cells
    return out


_TEACHER_BLOCK = re.compile(r"^<!-- teacher-edition -->\n.*?^<!-- /teacher-edition -->\n?",
                            re.MULTILINE | re.DOTALL)
_STUDENT_BLOCK = re.compile(r"^<!-- student-edition\n(?P<text>.*?)^-->\n?", re.MULTILINE | re.DOTALL)


def student_markdown(text, where="page"):
    """A markdown page for the student edition, once it is clear that it holds no solution.

    Text between ``<!-- teacher-edition -->`` and ``<!-- /teacher-edition -->`` lines (what
    only the reader's edition may say, e.g. that solutions are folded) is removed, and
    the text of a ``<!-- student-edition ... -->`` comment is uncommented in its place.
    """
    if _SOLUTION_DIRECTIVE.search(text):
        raise StudentEditionError(f"{where} holds a {{solution}} directive: put the solution in "
                                  "an nbgrader solution cell of a notebook, or make the page "
                                  "teacher-only (book/teacher_*)")
    return _edition_blocks(text, where)


def _edition_blocks(text, where):
    """Drop the teacher-edition blocks of a markdown text and uncomment its student-edition ones."""
    text = _TEACHER_BLOCK.sub("", text)
    if "teacher-edition -->" in text:
        raise StudentEditionError(f"{where}: a '<!-- teacher-edition -->' block is not closed by "
                                  "a '<!-- /teacher-edition -->' line")
    return _STUDENT_BLOCK.sub(lambda m: m.group("text"), text)


def teacher_only_page(text, suffix):
    """The note that replaces a teacher-only page, under the page's own title."""
    if suffix == ".ipynb":
        import nbformat
        nb = nbformat.reads(text, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    title = next((line for line in text.splitlines() if line.startswith("# ")), "# Teacher page")
    note = f"{title}\n\n{TEACHER_ONLY_NOTE}"
    if suffix == ".ipynb":
        import nbformat
        return nbformat.writes(nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_markdown_cell(note)], metadata=nbformat.from_dict(
                {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                "language": "python"}})))   # else JupyterLab asks for one
    return note


# ----------------------------------------------------------------------------- _config.yml
def student_config(text):
    """``_config.yml`` for the student edition.

    ``hide_solutions: true``; "(student edition)" after the title; and if the
    teacher's config has an ``announcement:`` linking to the student edition
    (``.../student/``), the student's links back to the reader's edition.
    """
    pattern = re.compile(r"^(?P<indent>[ \t]*)hide_solutions:[ \t]*\S+[ \t]*$", re.MULTILINE)
    if len(pattern.findall(text)) != 1:
        raise StudentEditionError("_config.yml must contain exactly one 'hide_solutions:' line "
                                  "(under sphinx: config:)")
    text = pattern.sub(r"\g<indent>hide_solutions: true", text)
    folder = re.compile(r"^(?P<indent>[ \t]+)path_to_book:[ \t]*\S*[ \t]*$", re.MULTILINE)
    if len(folder.findall(text)) != 1:
        raise StudentEditionError("_config.yml must contain exactly one 'path_to_book:' line "
                                  "(under repository:): the edition's folder on the notebooks "
                                  "branch")
    text = folder.sub(r"\g<indent>path_to_book: student", text)
    # the repository button would open the sources, every solution in them
    text = re.sub(r"^(?P<indent>[ \t]+)use_repository_button:[ \t]*\S+[ \t]*$",
                  r"\g<indent>use_repository_button: false", text, flags=re.MULTILINE)
    text = re.sub(r'^title:[ \t]*"(?P<t>[^"\n]*)"[ \t]*$', r'title: "\g<t> (student edition)"',
                  text, count=1, flags=re.MULTILINE)
    announcement = re.compile(r"^(?P<indent>[ \t]*)announcement:.*$", re.MULTILINE)
    found = announcement.search(text)
    if found:
        url = re.search(r"""href=\\?["'](?P<url>[^"'\\]*?)student/?\\?["']""", found.group(0))
        if url is None:
            raise StudentEditionError("_config.yml's announcement must link to the student "
                                      "edition (an href ending in student/)")
        back = (f"{found.group('indent')}announcement: 'Student edition: no solutions. "
                f"<a href=\"{url.group('url')}\">The reader''s edition</a> has them, folded.'")
        text = text[:found.start()] + back + text[found.end():]
    return text


def with_own_pieces(nb):
    """A student-edition notebook that runs nblib's code on the student's pieces (for the
    student build of nblib, which has no answers to lend): on every page that uses nblib,
    ``use_my_pieces()`` after its first cell that mentions nblib (the pieces are read
    from the notebooks of 01 to 03 beside it, as saved), and after the self-check cell of
    each task whose piece nblib's code uses (``yourturn.piece_tasks``: the your-turn tasks,
    05's MyLayerNorm, the one exercise that takes nblib's piece's place) ``yourturn.use_mine(task, piece)`` (the piece as it is
    now). Each added cell is
    tagged ``remove-input``."""
    import nbformat
    from nblib.teaching.yourturn import piece_tasks

    tasks = piece_tasks()
    out = nbformat.from_dict(nb)
    cells, added = [], False
    for cell in out.cells:
        cells.append(cell)
        task_id = cell.metadata.get("task")
        if task_id in tasks and "self-check" in cell.metadata.get("tags", []):
            cells.append(_own_cell(f"mine-{task_id}", "from nblib.teaching import yourturn\n"
                                                      f"yourturn.use_mine({task_id!r}, "
                                                      f"{tasks[task_id].name});"))
        elif not added and cell.cell_type == "code" and "nblib" in cell.source:
            cells.append(_own_cell("mine-all", "from nblib.teaching.yourturn import "
                                               "use_my_pieces\nuse_my_pieces();"))
            added = True
    out.cells = cells
    return out


def _own_cell(cell_id, source):
    import nbformat
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    cell.metadata["tags"] = ["remove-input"]
    return cell


# ----------------------------------------------------------------------------- the edition
def student_files(source, *, reader=False, library=False):
    """{relative path: bytes} of the student (or reader's) edition of the book at ``source``."""
    import nbformat

    files = {}
    for path in sorted((source / "book").rglob("*")):
        rel = path.relative_to(source).as_posix()
        if path.is_dir() or any(part in SKIP_DIRS for part in Path(rel).parts):
            continue
        if path.suffix == ".ipynb" and (reader or not TEACHER_ONLY.match(rel)):
            nb = student_notebook(nbformat.read(path, as_version=4), where=rel, reader=reader)
            if library:
                nb = with_own_pieces(nb)
            files[rel] = nbformat.writes(nb).encode()
        elif reader:
            files[rel] = path.read_bytes()
        elif TEACHER_ONLY.match(rel) and path.suffix in (".md", ".ipynb"):
            files[rel] = teacher_only_page(path.read_text(encoding="utf-8"),
                                           path.suffix).encode()
        elif path.suffix == ".md":
            files[rel] = student_markdown(path.read_text(encoding="utf-8"), where=rel).encode()
        else:
            files[rel] = path.read_bytes()
    config = (source / "_config.yml").read_text()
    files["_config.yml"] = (config if reader else student_config(config)).encode()
    files["_toc.yml"] = (source / "_toc.yml").read_bytes()
    return files


def write_student_edition(outdir, source=None, *, reader=False, library=False):
    """Write the student edition (or the reader's) of the book at ``source`` into ``outdir``.

    ``library``: also write the student build of nblib (``teacher/student_build.py``) and
    its ``pyproject.toml`` into ``outdir``, for ``pip install OUTDIR`` (not with ``reader``).
    Returns the notebooks written (paths inside ``outdir``).
    """
    if library and reader:
        raise ValueError("library=True is for the student edition; the reader's edition "
                         "uses the full nblib")
    source = Path(source) if source is not None else _default_source()
    outdir = Path(outdir)
    if not (source / "_config.yml").is_file() or not (source / "book").is_dir():
        raise ValueError(f"source must be the book's root (with _config.yml and book/), "
                         f"got {str(source)!r}")
    src_book = (source / "book").resolve()
    if outdir.resolve() in (source.resolve(), src_book) or src_book in outdir.resolve().parents:
        raise ValueError(f"outdir must not be the book itself or inside book/, got {str(outdir)!r}")
    if outdir.exists() and not outdir.is_dir():
        raise ValueError(f"outdir must be a directory, got the file {str(outdir)!r}")
    files = student_files(source, reader=reader, library=library)
    if library:
        from teacher.student_build import student_library
        files.update(student_library(source))
    try:
        write_files(outdir, files, MANIFEST, "teacher/student_edition.py")
    except UnsafeWrite as err:
        raise StudentEditionError(str(err)) from None
    return [outdir / rel for rel in files if rel.endswith(".ipynb")]


def _default_source():
    repo = Path(__file__).resolve().parent.parent
    return repo if (repo / "_config.yml").is_file() else Path.cwd()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python teacher/student_edition.py",
        description="Write the student edition of the book (no solutions, no tests) into OUTDIR.")
    parser.add_argument("outdir", help="where to write it (empty, or an earlier student edition)")
    parser.add_argument("--reader", action="store_true",
                        help="write the reader's edition instead: solutions kept (folded), "
                             "only the autograder's grade cells dropped")
    parser.add_argument("--library", action="store_true",
                        help="also write the student build of nblib (no answers) and a "
                             "pyproject.toml, for pip install OUTDIR")
    parser.add_argument("--source", default=None,
                        help="the book's root, with _config.yml and book/ "
                             "(default: this repository)")
    args = parser.parse_args(argv)
    try:
        written = write_student_edition(args.outdir, args.source, reader=args.reader,
                                        library=args.library)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    edition = "reader's" if args.reader else "student"
    print(f"wrote the {edition} edition ({len(written)} notebooks) to {args.outdir}")
    print(f"build it with:  jupyter-book build {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
