"""Show nblib's real source in a notebook, so the book never carries a copy that drifts."""
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
