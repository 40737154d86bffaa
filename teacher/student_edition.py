"""Write the student edition of the book: the same pages, with no solutions and no tests.

    python teacher/student_edition.py OUTDIR [--source BOOK_ROOT]

The notebooks under ``book/`` are nbgrader source notebooks, and the student
edition is made of them the way ``nbgrader generate_assignment`` makes a
release, with nbgrader's own preprocessors:

- ``ClearSolutions``: every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region
  becomes ``raise NotImplementedError()``, and every other nbgrader solution cell
  (a worked experiment, a written answer) becomes a stub;
- ``ClearHiddenTests`` and ``ClearOutput``.

Then, for a book that builds (``jupyter-book build OUTDIR -W``) and shows nothing
a student could not use:

- the autograder's grade cells are dropped (they are nbgrader's, not the reader's);
- a cell that is now only a stub is tagged ``remove-cell`` (and, if code,
  ``raises-exception``): it stays in the notebook, for the student's answer, but
  not on the page;
- a starter (a solution cell that kept its signature and docstring) loses
  ``hide-input``: in the reader's edition the solution is folded, here the starter
  is the point;
- teacher-only pages (``book/teacher_*``) are replaced by a short note;
- ``_config.yml`` gets ``hide_solutions: true``, "(student edition)" in the
  title, and the announcement that links to the other edition is turned around.

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
import hashlib
import json
import os
import re
import sys
from pathlib import Path

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


def _stubs():
    from nbgrader.preprocessors import ClearSolutions

    stub = ClearSolutions()
    return stub.code_stub["python"], stub.text_stub


def student_notebook(nb, where="notebook"):
    """A copy of ``nb`` (an nbformat NotebookNode) as the student edition shows it."""
    import nbformat
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

    out = nbformat.from_dict(nb)
    for cell in out.cells:
        if (cell.cell_type == "markdown" and not _nbgrader(cell).get("solution")
                and _SOLUTION_DIRECTIVE.search(cell.source)):
            raise StudentEditionError(
                f"{where}: cell {cell.get('id')!r} holds a {{solution}} directive but is not an "
                "nbgrader solution cell, so nbgrader would leave it in the student edition")
    resources = {}
    for preprocessor in (ClearSolutions, ClearHiddenTests, ClearOutput):
        try:
            out, resources = preprocessor().preprocess(out, resources)
        except RuntimeError as err:             # nbgrader's words for unmatched markers
            raise StudentEditionError(f"{where}: {err}") from None
    code_stub, text_stub = _stubs()
    cells = []
    for cell in out.cells:
        meta = _nbgrader(cell)
        if meta.get("grade") and not meta.get("solution"):
            continue                                   # an autograder test cell
        tags = list(cell.metadata.get("tags", []))
        if meta.get("solution"):
            if cell.source.strip() in (code_stub.strip(), text_stub.strip()):
                tags += ["remove-cell"] + (["raises-exception"] if cell.cell_type == "code"
                                           else [])
            else:
                tags = [t for t in tags if t not in ("hide-input", "hide-cell")]
        cell.metadata.pop("nbgrader", None)
        if tags:
            cell.metadata["tags"] = list(dict.fromkeys(tags))
        else:
            cell.metadata.pop("tags", None)
        cells.append(cell)
    out.cells = cells
    return out


def student_markdown(text, where="page"):
    """A markdown page, unchanged, once it is clear that it holds no solution."""
    if _SOLUTION_DIRECTIVE.search(text):
        raise StudentEditionError(f"{where} holds a {{solution}} directive: put the solution in "
                                  "an nbgrader solution cell of a notebook, or make the page "
                                  "teacher-only (book/teacher_*)")
    return text


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
            nbformat.v4.new_markdown_cell(note)]))
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


# ----------------------------------------------------------------------------- writing safely
def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _symlink_in(outdir, rel):
    """The first path from outdir down to outdir/rel that is a symbolic link, or None."""
    path = outdir
    for part in Path(rel).parts:
        path = path / part
        if path.is_symlink():
            return path
    return None


def _plan(outdir, files):
    """Check that every file can be written; return the manifest of the earlier edition."""
    manifest_path = outdir / MANIFEST
    if manifest_path.is_symlink():
        raise StudentEditionError(f"{manifest_path} is a symbolic link: refusing to write "
                                  "through it")
    written = {}
    if manifest_path.exists():
        try:
            written = json.loads(manifest_path.read_text())["files"]
        except (ValueError, KeyError, TypeError):
            raise StudentEditionError(f"{manifest_path} is not a list written by this tool; "
                                      "choose an empty OUTDIR") from None
    elif outdir.exists() and any(outdir.iterdir()):
        raise StudentEditionError(f"outdir {str(outdir)!r} is not empty and holds no student "
                                  f"edition written earlier (no {MANIFEST}): choose an empty "
                                  "directory")
    problems = []
    for rel in files:
        link = _symlink_in(outdir, rel)
        if link is not None:
            problems.append(f"{link} is a symbolic link (to {os.readlink(link)}): refusing to "
                            "write through it")
            continue
        target = outdir / rel
        if not target.exists():
            continue
        if not target.is_file():
            problems.append(f"{target} is in the way (not a file)")
        elif rel not in written:
            problems.append(f"{target} exists and was not written by this tool")
        elif _digest(target.read_bytes()) != written[rel]:
            problems.append(f"{target} was changed since this tool wrote it (your work?): move "
                            "it away, or choose another OUTDIR")
    if problems:
        raise StudentEditionError("nothing written:\n  " + "\n  ".join(problems))
    return written


def _write(outdir, files):
    """Write ``files`` ({relative path: bytes}) into outdir and update the manifest."""
    written = _plan(outdir, files)
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        for rel, data in files.items():
            target = outdir / rel
            if target.exists() and target.read_bytes() == data:
                written[rel] = _digest(data)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, target)                     # replaces a file, never writes through
            written[rel] = _digest(data)
    finally:
        manifest = {"written_by": "teacher/student_edition.py", "files": written}
        (outdir / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------- the edition
def student_files(source):
    """{relative path: bytes} of the student edition of the book at ``source``."""
    import nbformat

    files = {}
    for path in sorted((source / "book").rglob("*")):
        rel = path.relative_to(source).as_posix()
        if path.is_dir() or any(part in SKIP_DIRS for part in Path(rel).parts):
            continue
        if TEACHER_ONLY.match(rel) and path.suffix in (".md", ".ipynb"):
            files[rel] = teacher_only_page(path.read_text(encoding="utf-8"),
                                           path.suffix).encode()
        elif path.suffix == ".ipynb":
            nb = student_notebook(nbformat.read(path, as_version=4), where=rel)
            files[rel] = nbformat.writes(nb).encode()
        elif path.suffix == ".md":
            files[rel] = student_markdown(path.read_text(encoding="utf-8"), where=rel).encode()
        else:
            files[rel] = path.read_bytes()
    files["_config.yml"] = student_config((source / "_config.yml").read_text()).encode()
    files["_toc.yml"] = (source / "_toc.yml").read_bytes()
    return files


def write_student_edition(outdir, source=None):
    """Write the student edition of the book at ``source`` into ``outdir``.

    Returns the notebooks written (paths inside ``outdir``).
    """
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
    files = student_files(source)
    _write(outdir, files)
    return [outdir / rel for rel in files if rel.endswith(".ipynb")]


def _default_source():
    repo = Path(__file__).resolve().parent.parent
    return repo if (repo / "_config.yml").is_file() else Path.cwd()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python teacher/student_edition.py",
        description="Write the student edition of the book (no solutions, no tests) into OUTDIR.")
    parser.add_argument("outdir", help="where to write it (empty, or an earlier student edition)")
    parser.add_argument("--source", default=None,
                        help="the book's root, with _config.yml and book/ "
                             "(default: this repository)")
    args = parser.parse_args(argv)
    try:
        written = write_student_edition(args.outdir, args.source)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote the student edition ({len(written)} notebooks) to {args.outdir}")
    print(f"build it with:  jupyter-book build {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
