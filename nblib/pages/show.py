"""What the book displays: nblib's real source (so the book never carries a copy that
drifts), and Markdown tables of computed values."""
from __future__ import annotations

import inspect


def source(obj):
    """The source code of a function, class or method, as a string."""
    try:
        return inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise TypeError(f"obj must be a function, class or method defined in Python, "
                        f"got {obj!r}") from err


def show_source(obj):
    """Display ``obj``'s source with syntax highlighting (in Jupyter and in the HTML book)."""
    from IPython.display import Code, display
    code = Code(source(obj), language="python")
    display(code)
    return code


def markdown_table(header, rows):
    """A Markdown table (IPython ``Markdown``) from column titles and rows of cells.

    Each cell is shown with ``str``; format numbers before passing them.
    """
    from IPython.display import Markdown

    header = [str(h) for h in header]
    rows = [[str(cell) for cell in row] for row in rows]
    if not header:
        raise ValueError("header must name at least one column")
    bad = [i for i, row in enumerate(rows) if len(row) != len(header)]
    if bad:
        raise ValueError(f"every row must have {len(header)} cells (one per column); "
                         f"rows {bad} do not")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return Markdown("\n".join(lines))
