"""The usual mistakes of every task: a view of the registry, for the teacher.

The catalogue itself is ``nblib.teaching.mistakes`` (the wrong pieces, each with the words
its self-check must say), and each task of ``nblib.teaching.registry`` lists its own; this
module keeps the teacher's name for that table::

    MISTAKES[task_id] -> (Mistake(title, build, words, says), ...)
"""
from __future__ import annotations

from nblib.teaching.mistakes import Mistake  # noqa: F401 - the entries' type
from nblib.teaching.registry import ALL

MISTAKES = {task_id: task.mistakes for task_id, task in ALL.items()}
