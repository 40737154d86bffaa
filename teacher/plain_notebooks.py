"""The notebooks a reader or a student opens outside the book: plain Markdown, numbers filled in.

    python teacher/plain_notebooks.py SOURCE EXECUTED OUTDIR

The book's notebooks are written in MyST: ``{glue:text}`` roles for the numbers, ``{exercise}``
and ``{admonition}`` boxes, ``{doc}`` links, ``remove-cell`` tags on the page's bookkeeping.
myst-nb renders all of that in the HTML book; JupyterLab, Colab and nbgrader's release show it
raw. This tool writes, from one built edition, the copy of each notebook that every other front
end gets (the download button, the launch buttons, the nbgrader release, ``jupyter lab``):

- each ``{glue:text}`` / ``{glue:md}`` role becomes the value the build computed, formatted by
  myst-nb's own ``format_plain_text`` (so the copy reads exactly like the page);
- each box becomes a Markdown quote with its title in bold; a ``{doc}`` link becomes a link to
  the other notebook (or, for a page that is not a notebook, to the published page);
- the bookkeeping cells (tags ``remove-cell``, ``remove-input``, ``hide-input``...) keep
  running but are collapsed: ``jupyter.source_hidden`` / ``outputs_hidden`` for JupyterLab and
  Jupyter Notebook, ``cellView: form`` with a ``# @title`` for Colab;
- the hidden install line names the library of this edition, from ``_config.yml``'s
  ``repository`` (see ``edition_links``).

SOURCE is the edition's book root (``_config.yml``, ``_toc.yml``, ``book/``) as it was built;
EXECUTED the build's executed copies (``OUT/_build/executed``, one ``<docname>.ipynb`` each).
Outputs are cleared: the figures come back when the notebook runs. A role or directive this tool
does not know stops it with an error, instead of reaching a student raw.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

if __package__ in (None, ""):                      # run as a script: python teacher/...
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from teacher.safe_write import UnsafeWrite, write_files  # noqa: E402

MANIFEST = ".plain-notebooks"            # what this tool wrote in OUTDIR, with checksums

# The site GitHub Pages serves for a repository https://github.com/<org>/<repo>.
_GITHUB = re.compile(r"^https://github\.com/(?P<org>[\w.-]+)/(?P<repo>[\w.-]+?)/?$")

_ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<text>[^`]*)`")
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^:[\w-]+:.*$")
_LABEL = re.compile(r"^\([\w-]+\)=[ \t]*$")
_INSTALL = re.compile(r'(%pip install -q ")nblib @ [^"]*(")')

# Boxes: a directive's title when it gives none.
_BOX_TITLES = {"note": "Note", "tip": "Tip", "important": "Important", "warning": "Warning",
               "caution": "Caution", "hint": "Hint", "seealso": "See also", "attention":
               "Attention", "danger": "Danger", "error": "Error"}

# Tags whose cells the page does not show, and what each hides in a notebook.
_HIDE_SOURCE = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
_HIDE_OUTPUT = {"remove-cell", "remove-output", "hide-output", "hide-cell"}
BOOKKEEPING_TITLE = "Hidden on the page: set-up and bookkeeping (it runs with the rest)"


class PlainNotebookError(ValueError):
    """A notebook holds MyST this tool cannot turn into plain Markdown; nothing was written."""


# ----------------------------------------------------------------------------- settings
def edition_links(config: dict, edition: str) -> dict:
    """Where this edition's notebooks and library live, all derived from one setting.

    ``_config.yml``'s ``repository.url`` names the repository, ``repository.branch`` the branch
    the Pages workflow fills with the plain notebooks, and ``repository.path_to_book`` the
    edition's folder on it ("reader" or "student"), which holds the edition's library
    (``pyproject.toml``, ``nblib/``) and its notebooks (``book/``): Jupyter Book's Colab
    button opens ``<branch>/<path_to_book>/book/<page>.ipynb``. Returns {"site", "install",
    "folder", "notebooks"}: the published book, what ``%pip install`` installs, the folder on
    the branch, and that folder's address on GitHub.
    """
    if edition not in ("reader", "student"):
        raise ValueError(f"edition must be 'reader' or 'student', got {edition!r}")
    repo = (config or {}).get("repository") or {}
    url, branch = str(repo.get("url", "")).rstrip("/"), repo.get("branch", "")
    folder = str(repo.get("path_to_book", "")).strip("/")
    found = _GITHUB.match(url)
    if found is None or not branch or folder != edition:
        raise PlainNotebookError(
            "_config.yml's repository needs url (https://github.com/<org>/<repo>), branch (the "
            f"notebooks branch) and path_to_book ({edition!r} in the {edition} edition), got "
            f"url={url!r}, branch={branch!r}, path_to_book={folder!r}")
    site = (f"https://{found['org']}.github.io/{found['repo']}/"
            + ("student/" if edition == "student" else ""))
    return {"site": site, "install": f"nblib @ git+{url}@{branch}#subdirectory={folder}",
            "folder": folder, "notebooks": f"{url}/tree/{branch}/{folder}/book"}


def read_config(source: Path) -> tuple[dict, str]:
    """(the edition's _config.yml, "student" or "reader")."""
    config = yaml.safe_load((Path(source) / "_config.yml").read_text(encoding="utf-8")) or {}
    hide = ((config.get("sphinx") or {}).get("config") or {}).get("hide_solutions")
    return config, ("student" if hide else "reader")


# ----------------------------------------------------------------------------- glued values
def glued_values(nb) -> dict:
    """{name: mime bundle} of every value a notebook glued (myst-nb's ``glue``)."""
    from myst_nb.ext.glue import GLUE_PREFIX

    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is None:
                continue
            prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
            found[name] = {key[len(prefix):] if key.startswith(GLUE_PREFIX) else key: value
                           for key, value in output.get("data", {}).items()}
    return found


def _paste(role: str, text: str, values: dict, others: dict, where: str) -> str:
    from myst_nb.core.variables import format_plain_text

    doc, _, key = text.rpartition("::")
    fmt = ""
    if role == "glue:text" and ":" in key:
        key, fmt = key.rsplit(":", 1)
    elif role == "glue:md" and ":" in key:
        key = key.rsplit(":", 1)[0]
    table = values if not doc else others.get(Path(doc).stem)
    if table is None or key not in table:
        raise PlainNotebookError(f"{where}: {{{role}}}`{text}`: the build glued no {key!r}"
                                 + (f" in {doc}" if doc else ""))
    data = table[key]
    if role == "glue:md":
        return str(data.get("text/markdown", format_plain_text(data["text/plain"], "")))
    return format_plain_text(data["text/plain"], fmt)


# ----------------------------------------------------------------------------- markdown
def _quote(title: str, body: list[str]) -> list[str]:
    while body and not body[-1].strip():
        body = body[:-1]
    while body and not body[0].strip():
        body = body[1:]
    return [f"> **{title}**", ">"] + [f"> {line}".rstrip() for line in body]


def _directives(lines: list[str], ctx: dict, where: str) -> list[str]:
    """Turn the fenced directives of ``lines`` into plain Markdown (recursively)."""
    out, i = [], 0
    while i < len(lines):
        found = _FENCE.match(lines[i])
        if found is None:
            out.append(lines[i])
            i += 1
            continue
        fence, name, arg = found["fence"], found["name"], found["arg"].strip()
        j = i + 1
        while j < len(lines) and _OPTION.match(lines[j]):
            label = re.match(r"^:label:\s*(\S+)", lines[j])
            if label:
                ctx["labels"][label[1]] = arg
            j += 1
        end = j
        while end < len(lines) and not (lines[end].startswith(fence[0] * len(fence))
                                        and lines[end].strip() == fence[0] * len(lines[end].strip())
                                        and len(lines[end].strip()) >= len(fence)):
            end += 1
        if end == len(lines) and name not in ("solution-start", "solution-end"):
            raise PlainNotebookError(f"{where}: the {{{name}}} directive is not closed")
        body = _directives(lines[j:end], ctx, where)
        if name == "exercise":
            out += _quote(f"Exercise: {arg}" if arg else "Exercise", body)
        elif name == "admonition":
            out += _quote(arg or "Note", body)
        elif name in _BOX_TITLES:
            out += _quote(_BOX_TITLES[name] + (f": {arg}" if arg else ""), body)
        elif name == "solution-start":
            title = ctx["labels"].get(arg) or ctx["exercise_titles"].get(arg, "")
            out += [f"#### Solution" + (f": {title}" if title else "")] + body
        elif name == "solution-end":
            out += body
        else:
            raise PlainNotebookError(f"{where}: no plain Markdown for the {{{name}}} directive")
        i = end + 1
    return out


def plain_markdown(text: str, ctx: dict, where: str = "cell") -> str:
    """One markdown cell's text as plain Markdown (see the module's docstring)."""
    lines = [line for line in text.splitlines() if not _LABEL.match(line)]
    text = "\n".join(_directives(lines, ctx, where))

    def role(found):
        name, content = found["name"], found["text"]
        if name in ("glue:text", "glue:md", "glue"):
            return _paste("glue:text" if name == "glue" else name, content, ctx["values"],
                          ctx["others"], where)
        if name == "doc":
            shown = re.match(r"^(?P<shown>.*?)\s*<(?P<target>[^>]+)>$", content)
            target = shown["target"] if shown else content
            docname = Path(ctx["docname"]).parent.joinpath(target).as_posix()
            docname = re.sub(r"(^|/)[^/]+/\.\./", r"\1", docname)
            title = shown["shown"] if shown else ctx["titles"].get(docname, target)
            if docname in ctx["notebooks"]:
                return f"[{title}]({Path(target).name}.ipynb)"
            return f"[{title}]({ctx['site']}{docname}.html)"
        raise PlainNotebookError(f"{where}: no plain Markdown for the {{{name}}} role")

    return _ROLE.sub(role, text)


# ----------------------------------------------------------------------------- notebooks
def plain_notebook(nb, executed, *, docname: str, ctx: dict, nbgrader: bool = False):
    """The plain copy of notebook ``nb`` (as built), given its ``executed`` copy.

    Without ``nbgrader``, the autograder's grade cells (hidden tests) are dropped and no cell
    keeps nbgrader's metadata; with it (a source for ``nbgrader generate_assignment``) every
    cell and its metadata stay, and only the Markdown and the hidden cells change."""
    import nbformat

    from teacher.student_edition import is_stub

    out = nbformat.from_dict(nb)
    if not nbgrader:
        out.cells = [c for c in out.cells if not (c.metadata.get("nbgrader", {}).get("grade")
                                                 and not c.metadata["nbgrader"].get("solution"))]
        for cell in out.cells:
            cell.metadata.pop("nbgrader", None)
    ctx = {**ctx, "docname": docname, "values": glued_values(executed), "labels": {}}
    for index, cell in enumerate(out.cells):
        where = f"{docname}.ipynb, cell {index}"
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type == "markdown":
            cell.source = plain_markdown(cell.source, ctx, where)
            continue
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        cell.source = _INSTALL.sub(lambda m: m[1] + ctx["install"] + m[2], cell.source)
        if is_stub(cell):               # the student's to write: in sight, not folded
            continue
        jupyter = dict(cell.metadata.get("jupyter", {}))
        if tags & _HIDE_SOURCE:
            jupyter["source_hidden"] = True
        if tags & _HIDE_OUTPUT:
            jupyter["outputs_hidden"] = True
        if jupyter:
            cell.metadata["jupyter"] = jupyter
        if "remove-cell" in tags or "remove-input" in tags:      # Colab: a folded form
            cell.metadata["cellView"] = "form"
            if not cell.source.startswith("# @title"):
                cell.source = f"# @title {BOOKKEEPING_TITLE}\n{cell.source}"
    return out


def _title(text: str) -> str | None:
    found = re.search(r"^# (.+)$", text, re.MULTILINE)
    return found[1].strip() if found else None


def plain_book(source, executed, *, nbgrader: bool = False, student: bool | None = None) -> dict:
    """{"<docname>.ipynb": plain notebook} of every notebook of the book at ``source``, built
    with its executed copies in ``executed``.

    ``student`` (default: what ``source`` is, by its ``hide_solutions``) gives the student
    edition's words (``<!-- student-edition -->`` blocks), its install line (the student
    build of nblib, without answers) and the cells that put the student's own pieces in
    place (``student_edition.with_own_pieces``); ``nbgrader``
    keeps nbgrader's cells and metadata, for a course's source notebooks (teacher/course.py).
    """
    import nbformat
    from sphinx_external_toc.parsing import parse_toc_yaml

    from teacher.student_edition import (_edition_blocks, solution_bookkeeping, student_config,
                                         with_own_pieces)

    source, executed = Path(source), Path(executed)
    config, edition = read_config(source)
    if student is not None and student != (edition == "student"):
        if not student:
            raise ValueError("student=False needs the reader's edition as source")
        config = yaml.safe_load(student_config((source / "_config.yml").read_text()))
        edition = "student"
    links = edition_links(config, edition)
    notebooks, titles, runs, exercise_titles = {}, {}, {}, {}
    for docname in parse_toc_yaml(source / "_toc.yml"):
        for suffix in (".ipynb", ".md"):
            path = source / f"{docname}{suffix}"
            if path.is_file():
                break
        else:
            continue
        if suffix == ".md":
            titles[docname] = _title(path.read_text(encoding="utf-8")) or docname
            continue
        nb = nbformat.read(path, as_version=4)
        notebooks[docname] = nb
        titles[docname] = next((t for c in nb.cells if c.cell_type == "markdown"
                                for t in [_title(c.source)] if t), docname)
        ran = executed / f"{docname}.ipynb"
        if not ran.is_file():
            raise PlainNotebookError(f"no executed copy of {docname} in {executed}: build the "
                                     "edition first")
        runs[docname] = nbformat.read(ran, as_version=4)
        for cell in nb.cells:
            for found in re.finditer(r"\{exercise\}[ \t]*(.*)\n:label:[ \t]*(\S+)", cell.source):
                exercise_titles[found[2]] = found[1].strip()
    others = {Path(d).name: glued_values(nb) for d, nb in runs.items()}
    ctx = {"notebooks": set(notebooks), "titles": titles, "site": links["site"],
           "install": links["install"], "others": others, "exercise_titles": exercise_titles}
    plain = {}
    for docname, nb in notebooks.items():
        if edition == "student":       # its library has no answers: the pages run on the
            nb = with_own_pieces(nb)   # student's own pieces (teacher/student_build.py)
            nb.cells = [c for c in nb.cells if not solution_bookkeeping(c)]   # the teacher's
        copy = plain_notebook(nb, runs[docname], docname=docname, ctx=ctx, nbgrader=nbgrader)
        if edition == "student":
            for cell in copy.cells:
                if cell.cell_type == "markdown":
                    cell.source = _edition_blocks(cell.source, f"{docname}.ipynb")
        plain[f"{docname}.ipynb"] = copy
    return plain


def write_plain_notebooks(source, executed, outdir) -> list[Path]:
    """Write the plain copy of every notebook of the edition built from ``source`` into
    ``outdir/<docname>.ipynb`` (never over a file this tool did not write, or one changed
    since). Returns the paths written."""
    import nbformat

    outdir = Path(outdir)
    files = {rel: nbformat.writes(nb).encode()      # every notebook converted: now write
             for rel, nb in plain_book(source, executed).items()}
    try:
        write_files(outdir, files, MANIFEST, "teacher/plain_notebooks.py")
    except UnsafeWrite as err:
        raise PlainNotebookError(str(err)) from None
    return [outdir / rel for rel in files]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python teacher/plain_notebooks.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the edition's book root, as built")
    parser.add_argument("executed", help="the build's executed notebooks (OUT/_build/executed)")
    parser.add_argument("outdir", help="where to write the plain notebooks")
    args = parser.parse_args(argv)
    try:
        written = write_plain_notebooks(args.source, args.executed, args.outdir)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} plain notebooks to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
