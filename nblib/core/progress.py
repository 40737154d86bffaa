"""A progress bar: tqdm's when tqdm is installed (a widget in Jupyter), plain text otherwise.

nblib needs only NumPy and matplotlib, so tqdm is optional (``pip install nblib[progress]``).
"""
from __future__ import annotations

import sys


class TextBar:
    """The part of tqdm's interface nblib uses, as one line of text on stderr."""

    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit = total, desc, unit
        self.n, self.postfix = 0, ""

    def set_postfix(self, refresh=True, **values):
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())
        if refresh:
            self._show()

    def update(self, n=1):
        self.n += n
        self._show()

    def close(self):
        sys.stderr.write("\n")

    def _show(self):
        postfix = f" [{self.postfix}]" if self.postfix else ""
        sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total} {self.unit}{postfix}")
        sys.stderr.flush()


def progress_bar(total, desc, unit):
    """A bar counting to ``total``: ``update(n)``, ``set_postfix(**values)``, ``close()``."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return TextBar(total, desc, unit)
    return tqdm(total=total, desc=desc, unit=unit, leave=True)
