"""Write the student edition of the book: the exercises without their solutions.

    python teacher/student_edition.py OUTDIR [--source BOOK_ROOT]

OUTDIR receives a complete Jupyter Book that builds on its own
(``jupyter-book build OUTDIR``):

- ``book/*.ipynb``: every notebook, outputs cleared, with
  - every gated solution removed: the markdown cell holding ``{solution-start}``,
    every cell after it and the cell holding ``{solution-end}`` (text before the
    start and after the end in those two cells is kept);
  - every ``{solution}`` directive removed from markdown cells;
  - every other cell tagged ``solution`` replaced by a stub that raises
    ``NotImplementedError`` (tagged ``raises-exception``, so the notebook still runs).
  The starter cells (the functions with TODOs) and the self-checks stay: in the
  student edition a self-check reports FAIL "not implemented yet" until the
  student has written the code.
- every other file under ``book/`` copied, with ``{solution}`` directives also
  removed from markdown pages; teacher-only pages are replaced by a short note.
- ``_config.yml`` with sphinx-exercise's ``hide_solutions: true`` (so that any
  solution left behind would still not be rendered) and ``_toc.yml``.

Refuses to write into a non-empty OUTDIR that is not an earlier student edition.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

MARKER = ".student-edition"
TEACHER_ONLY = {
    "book/teacher_guide.md": "# Teacher guide\n\nThis page is part of the teacher edition only.\n",
}
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", "_build", ".jupyter_cache"}
STUB = ('raise NotImplementedError("{what}: the solution is not part of the student edition; '
        'write your own")\n')

_FENCE_OPEN = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[\w:-]+)\}")
_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`(?:[^`:]*::)?(?P<key>[\w.-]+)")
_GLUE_DIRECTIVE = re.compile(r"\{glue(?::\w+)?\}\s+(?:[^\s:]*::)?(?P<key>[\w.-]+)")
_GLUE_CALL = re.compile(r"\bglue\(\s*(?P<arg>(?P<f>f?)(?P<q>[\"'])(?P<key>.*?)(?P=q)|[^\s,)]+)")


class StudentEditionError(ValueError):
    """The source cannot be turned into a student edition safely (e.g. an unclosed solution)."""


def _closes(line, fence):
    s = line.strip()
    return len(s) >= len(fence) and set(s) == {fence[0]}


class _Stripper:
    """Removes solutions from a sequence of markdown texts and code cells, in order."""

    def __init__(self, where):
        self.where = where
        self.in_gated = False

    def markdown(self, text):
        """The text with solutions removed (state carries over to the next cell)."""
        kept, lines, i = [], text.splitlines(keepends=True), 0
        while i < len(lines):
            m = _FENCE_OPEN.match(lines[i])
            name = m.group("name") if m else None
            if name in ("solution", "solution-start", "solution-end"):
                if name == "solution-end" and not self.in_gated:
                    raise StudentEditionError(f"{self.where}: solution-end without solution-start")
                if name == "solution-start" and self.in_gated:
                    raise StudentEditionError(f"{self.where}: nested solution-start")
                fence = m.group("fence")
                i += 1
                while i < len(lines) and not _closes(lines[i], fence):
                    i += 1
                if i == len(lines):
                    raise StudentEditionError(f"{self.where}: unclosed {{{name}}} directive")
                i += 1
                if name == "solution-start":
                    self.in_gated = True
                elif name == "solution-end":
                    self.in_gated = False
                continue
            if not self.in_gated:
                kept.append(lines[i])
            i += 1
        return "".join(kept)


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def student_notebook(nb, where="notebook"):
    """A copy of ``nb`` (an nbformat NotebookNode) without solutions and outputs."""
    import nbformat

    out = nbformat.from_dict(nb)
    strip = _Stripper(where)
    cells = []
    for cell in out.cells:
        text = _source(cell)
        if cell.cell_type == "markdown":
            new = strip.markdown(text)
            if new.strip():
                cell.source = new
                cells.append(cell)
            continue
        if strip.in_gated:
            continue
        if cell.cell_type == "code":
            tags = cell.get("metadata", {}).get("tags", [])
            if "solution" in tags:
                cell.source = STUB.format(what=where)
                cell.metadata["tags"] = [t for t in tags if t != "solution"] + ["raises-exception"]
            cell.outputs = []
            cell.execution_count = None
        cells.append(cell)
    if strip.in_gated:
        raise StudentEditionError(f"{where}: solution-start without solution-end")
    out.cells = cells
    return out


def missing_glue(nb):
    """Glue keys that the notebook's markdown uses but none of its code cells glues.

    Keys glued with an f-string (``glue(f"acc_{name}", ...)``) match as patterns; if
    a key is a plain variable, nothing can be said and the answer is [].
    """
    used, patterns = set(), []
    for cell in nb.cells:
        text = _source(cell)
        if cell.cell_type == "markdown":
            used |= {m.group("key") for m in _GLUE_ROLE.finditer(text)}
            used |= {m.group("key") for m in _GLUE_DIRECTIVE.finditer(text)}
        elif cell.cell_type == "code":
            for m in _GLUE_CALL.finditer(text):
                if m.group("key") is None:
                    return []                      # glue(some_variable, ...): unknowable
                parts = re.split(r"\{[^}]*\}", m.group("key")) if m.group("f") else \
                    [m.group("key")]
                patterns.append(re.compile(".+".join(map(re.escape, parts)) + r"\Z"))
    return sorted(k for k in used if not any(p.match(k) for p in patterns))


def student_markdown(text, where="page"):
    """A markdown page without its ``{solution}`` blocks (gated ones included)."""
    strip = _Stripper(where)
    new = strip.markdown(text)
    if strip.in_gated:
        raise StudentEditionError(f"{where}: solution-start without solution-end")
    return new


def student_config(text):
    """``_config.yml`` with ``hide_solutions: true`` and the title marked as the student edition."""
    pattern = re.compile(r"^(?P<indent>[ \t]*)hide_solutions:[ \t]*\S+[ \t]*$", re.MULTILINE)
    if len(pattern.findall(text)) != 1:
        raise StudentEditionError("_config.yml must contain exactly one 'hide_solutions:' line "
                                  "(under sphinx: config:)")
    text = pattern.sub(r"\g<indent>hide_solutions: true", text)
    return re.sub(r'^title:[ \t]*"(?P<t>[^"\n]*)"[ \t]*$', r'title: "\g<t> (student edition)"',
                  text, count=1, flags=re.MULTILINE)


def _warn(message):
    print(f"warning: {message}", file=sys.stderr)


def write_student_edition(outdir, source=None, *, warn=_warn):
    """Write the student edition of the book at ``source`` into ``outdir``.

    Returns the list of notebooks written (paths inside ``outdir``).
    """
    import nbformat

    source = Path(source) if source is not None else _default_source()
    outdir = Path(outdir)
    if not (source / "_config.yml").is_file() or not (source / "book").is_dir():
        raise ValueError(f"source must be the book's root (with _config.yml and book/), "
                         f"got {str(source)!r}")
    src_book = (source / "book").resolve()
    if outdir.resolve() == source.resolve() or outdir.resolve() == src_book \
            or src_book in outdir.resolve().parents:
        raise ValueError(f"outdir must not be the book itself or inside book/, got {str(outdir)!r}")
    if outdir.exists():
        if not outdir.is_dir():
            raise ValueError(f"outdir must be a directory, got the file {str(outdir)!r}")
        if any(outdir.iterdir()) and not (outdir / MARKER).exists():
            raise ValueError(f"outdir {str(outdir)!r} is not empty and is not a student edition "
                             f"written earlier (no {MARKER} file): choose an empty directory")
        if (outdir / "book").exists():
            shutil.rmtree(outdir / "book")
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / MARKER).write_text("Written by teacher/student_edition.py; safe to overwrite.\n")

    written = []
    for path in sorted((source / "book").rglob("*")):
        rel = path.relative_to(source)
        if any(part in SKIP_DIRS for part in rel.parts) or path.is_dir():
            continue
        target = outdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        key = rel.as_posix()
        if key in TEACHER_ONLY:
            target.write_text(TEACHER_ONLY[key])
        elif path.suffix == ".ipynb":
            nb = student_notebook(nbformat.read(path, as_version=4), where=key)
            for glue_key in missing_glue(nb):
                warn(f"{key} uses glue key {glue_key!r}, which no remaining code cell glues "
                     "(a removed solution did?): the student book will not build")
            nbformat.write(nb, target)
            written.append(target)
        elif path.suffix == ".md":
            target.write_text(student_markdown(path.read_text(), where=key))
        else:
            shutil.copy2(path, target)
    (outdir / "_config.yml").write_text(student_config((source / "_config.yml").read_text()))
    shutil.copy2(source / "_toc.yml", outdir / "_toc.yml")
    return written


def _default_source():
    repo = Path(__file__).resolve().parent.parent
    return repo if (repo / "_config.yml").is_file() else Path.cwd()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python teacher/student_edition.py",
        description="Write the student edition of the book (solutions removed) into OUTDIR.")
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
