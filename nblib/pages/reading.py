"""How long a page takes to read, measured from its source when the book is built.

A page's reading time is the sum of four parts, each at a stated rate:

- its prose, at ``WORDS_PER_MINUTE`` (the words of the markdown cells, without the math,
  the code in back-ticks counted as one word);
- its displayed equations, ``SECONDS_PER_EQUATION`` each;
- the code the reader sees, at ``CODE_LINES_PER_MINUTE``: the lines of the code cells
  that are neither removed nor folded, and the lines of the source that ``show_source``
  displays, also where the cell's output is folded (``hide-output``: the page points the
  reader to the listing);
- its figures, ``SECONDS_PER_FIGURE`` each (a cell that calls ``plt.show()`` or displays
  a figure object or an animation).

The text that a hidden cell writes (a table computed when the book is built) is not in the
page's source: a page that shows such text passes it as ``generated``, and its words are
counted with the prose, at the same rate (``generated_words`` says how many of them).

Folded cells (tags ``hide-input``, ``hide-cell``), removed ones and the solutions (nbgrader
answer cells, folded in the book) are not counted: a reader opens them at will. Writing the "your turn" tasks is not reading, and
is counted apart (``tasks``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

WORDS_PER_MINUTE = 200
CODE_LINES_PER_MINUTE = 10      # code read closely, line by line
SECONDS_PER_FIGURE = 30
SECONDS_PER_EQUATION = 20
NOT_READ = {"remove-cell", "remove-input", "hide-input", "hide-cell", "solution"}
TASK_TAGS = {"your-turn", "starter"}

_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"\$[^$\n]+\$")
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")               # {glue:text}`key`, {doc}`page`
_FENCE = re.compile(r"^[ \t]*(```+|~~~+)\s*(\S*)\s*$", re.M)   # also indented, in a list item
_FENCE_LINE = re.compile(r"^\s*(```+|~~~+|:::+).*$|^:\w+:.*$", re.M)   # and :label: options
_SHOW_SOURCE = re.compile(r"show_source\(([^()]*(?:\([^()]*\))?[^()]*)\)")
_FIGURE = re.compile(r"plt\.show\(\)|^\s*(?:frame(?:\.update\(\))?|PlaygroundFigure\(.*\)"
                     r"|HTML\(html\))\s*$", re.M)


@dataclass(frozen=True)
class ReadingTime:
    """What a page asks of its reader, and the minutes that takes at the stated rates."""

    words: int
    equations: int
    code_lines: int
    figures: int
    tasks: int = 0
    generated_words: int = 0       # of ``words``: those of the text the page's code writes

    @property
    def minutes(self) -> float:
        return (self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE
                + (self.figures * SECONDS_PER_FIGURE
                   + self.equations * SECONDS_PER_EQUATION) / 60)

    @property
    def rounded(self) -> int:
        """Minutes: to the nearest minute under 10, to the nearest 5 from there (at least 1)."""
        if self.minutes < 9.5:
            return max(1, round(self.minutes))
        return 5 * round(self.minutes / 5)

    def __add__(self, other: "ReadingTime") -> "ReadingTime":
        return ReadingTime(*(a + b for a, b in zip(self._parts(), other._parts())))

    def _parts(self):
        return (self.words, self.equations, self.code_lines, self.figures, self.tasks,
                self.generated_words)

    def __str__(self) -> str:
        return f"about {self.rounded} minutes"

    def method(self) -> str:
        """How the time was measured, in one sentence."""
        words = f"{self.words:,} words of prose"
        if self.generated_words:
            words = (f"{self.words:,} words, {self.generated_words:,} of them in the tables and "
                     f"text that the page's code writes,")
        text = (f"{words} at {WORDS_PER_MINUTE} a minute, "
                f"{self.code_lines} lines of code at {CODE_LINES_PER_MINUTE} a minute, "
                f"{self.figures} figures at {SECONDS_PER_FIGURE} s and "
                f"{self.equations} displayed equations at {SECONDS_PER_EQUATION} s each")
        if self.tasks:
            text += (f"; writing the task comes on top" if self.tasks == 1 else
                     f"; writing the {self.tasks} tasks comes on top")
        return text


def _cells(path: Path) -> list[tuple[str, str, set]]:
    """(kind, source, tags) of each cell; a markdown file is one markdown cell, its fenced
    code blocks code cells."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        out = []
        for cell in json.loads(text)["cells"]:
            src = cell["source"]
            src = "".join(src) if isinstance(src, list) else src
            tags = set(cell.get("metadata", {}).get("tags", []))
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                tags.add("solution")           # an nbgrader answer: folded in the book
            out.append((cell["cell_type"], src, tags))
        return out
    cells, prose, code, fence = [], [], [], None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if fence is None and m and not m.group(2).startswith("{"):
            fence = m.group(1)
            continue
        if fence is not None and m and m.group(1) == fence and not m.group(2):
            cells.append(("code", "\n".join(code), set()))
            fence, code = None, []
            continue
        (code if fence is not None else prose).append(line)
    return [("markdown", "\n".join(prose), set()), *cells]


def _shown_source_lines(src: str, namespace: dict | None) -> int:
    """Lines of the source that the cell's ``show_source(...)`` calls display; the names are
    looked up in ``namespace`` and in what the cell itself imports."""
    import inspect

    expressions = _SHOW_SOURCE.findall(src)
    if not expressions:
        return 0
    if namespace is None:
        raise ValueError("the page calls show_source: pass its namespace, "
                         "reading_time(path, globals())")
    scope = dict(namespace)
    imports = [line for line in src.splitlines() if re.match(r"(from \S+ )?import ", line)]
    exec("\n".join(imports), scope)                # noqa: S102 - the page's own imports
    return sum(len(inspect.getsource(eval(e, scope)).splitlines()) for e in expressions)


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _words(markdown: str) -> int:
    """The words of a markdown text, without the math, the markup of fences and what HTML
    comments hide (the other edition's text): a role or an inline formula is one word, the
    code in back-ticks too."""
    prose = _INLINE_MATH.sub(" x ", _DISPLAY_MATH.sub(" ", _COMMENT.sub(" ", markdown)))
    prose = _ROLE.sub(" x ", _FENCE_LINE.sub("", prose))    # fences are markup
    return len(re.findall(r"[\w`'’-]+", prose))


def reading_time(path, namespace: dict | None = None, generated=()) -> ReadingTime:
    """The reading time of the notebook or markdown page at ``path``.

    ``namespace``: where the objects that the page's ``show_source(...)`` calls name are
    found (the notebook's ``globals()``). ``generated``: the markdown texts that the page's
    hidden cells display (not in its source), read as prose.
    """
    words = equations = code_lines = figures = tasks = 0
    generated_words = sum(_words(text) for text in generated)
    for kind, src, tags in _cells(Path(path)):
        if "solution" in tags and not tags & TASK_TAGS:
            continue
        if kind == "markdown":
            equations += len(_DISPLAY_MATH.findall(src))
            words += _words(src)
            continue
        if kind != "code":
            continue
        tasks += bool(tags & TASK_TAGS)
        if "remove-cell" in tags:
            continue
        if "remove-output" not in tags:             # a folded cell still shows its figure
            figures += len(_FIGURE.findall(src))
        if tags & NOT_READ:
            continue
        code_lines += sum(1 for line in src.splitlines()
                          if line.strip() and "show_source(" not in line)
        code_lines += _shown_source_lines(src, namespace)
    return ReadingTime(words + generated_words, equations, code_lines, figures, tasks,
                       generated_words)


def glue_reading_time(path, namespace: dict | None = None, *, key: str | None = None,
                      generated=()):
    """Glue ``<key>`` ("about 45 minutes") and ``<key>_method`` (how it was measured) for
    ``{glue:text}``; the key defaults to ``reading_<file stem>``; ``generated`` as for
    ``reading_time``. Returns the ReadingTime, or None where nothing is glued (no myst-nb: a
    copy whose prose already holds the times)."""
    from .glue import building, glue

    if not building():
        return None

    time = reading_time(path, namespace, generated)
    key = key or f"reading_{Path(path).stem}"
    glue(key, str(time), display=False)
    glue(f"{key}_method", time.method(), display=False)
    return time


# The reader's pages, in the book's order (the teacher's pages are not part of the chapter).
READER_PAGES = ("01_data", "02_network", "03_training", "claim", "04_visualisation",
                "cmu_benchmark", "playground", "05_exercises")


def _submodules(package):
    """{name: module} of the package's modules, in every folder, that import here (``stats``,
    ``plots``...), so that a page's ``show_source(stats.f)`` resolves without the page's own
    imports."""
    import importlib
    import pkgutil

    found = {}
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        short = info.name.rpartition(".")[2]          # nblib.viz.plots -> plots
        try:
            found[short] = importlib.import_module(info.name)
        except ImportError:                  # an optional extra that is not installed
            continue
    return found


def book_scope(namespace: dict | None = None) -> dict:
    """Where the book's ``show_source(...)`` calls find their objects: ``nblib``, its public
    names and its submodules, then ``namespace``."""
    import nblib

    return {"nblib": nblib, **_submodules(nblib), **vars(nblib), **(namespace or {})}


def book_total(times: dict) -> str:
    """The book's reading time, "about N minutes": N is the sum of the pages' rounded times
    (``ReadingTime.rounded``), so that it is the sum of the rows of the intro's table. (The
    unrounded sum, rounded once, can differ from it by several minutes.)"""
    return f"about {sum(time.rounded for time in times.values())} minutes"


def glue_book_reading_time(folder=".", namespace: dict | None = None):
    """Glue the reading time of every reader's page (``book_reading_<stem>``) and of all of
    them (``book_reading_total``: the sum of the pages' rounded times, ``book_total``;
    ``book_reading_tasks``...), for the intro. Returns {stem: ReadingTime}, or {} where
    nothing is glued: no myst-nb, or a page without the others beside it (a notebook
    downloaded on its own, an nbgrader assignment's folder), where no intro is built."""
    from .glue import building, glue

    pages = {stem: Path(folder) / f"{stem}.ipynb" for stem in READER_PAGES}
    if not building() or not all(path.is_file() for path in pages.values()):
        return {}

    scope = book_scope(namespace)
    times = {stem: reading_time(path, scope) for stem, path in pages.items()}
    total = sum(times.values(), ReadingTime(0, 0, 0, 0, 0))
    for stem, time in times.items():
        glue(f"book_reading_{stem}", str(time), display=False)
    glue("book_reading_total", book_total(times), display=False)
    glue("book_reading_tasks", total.tasks, display=False)
    exercises = times["05_exercises"].tasks if "05_exercises" in times else 0
    glue("book_reading_your_turn", total.tasks - exercises, display=False)   # the stage pages
    glue("book_reading_exercises", exercises, display=False)
    glue("book_reading_method", total.method(), display=False)
    return times
