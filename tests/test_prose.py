"""Sentences that are computed outside the notebooks: reading times and the playground's
preset descriptions. Each test fails when the text stops matching what it describes."""
from __future__ import annotations

import inspect
import json

import pytest

import nblib
from nblib.pages import reading
from nblib.core.config import SpiralConfig
from nblib.viz.playground import PRESETS


def _notebook(path, cells):
    nb = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    for kind, source, tags in cells:
        cell = {"cell_type": kind, "metadata": {"tags": tags}, "source": source}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        nb["cells"].append(cell)
    path.write_text(json.dumps(nb))
    return path


def test_reading_time_counts_what_the_reader_sees(tmp_path):
    nb = _notebook(tmp_path / "page.ipynb", [
        ("markdown", "One two three, with `code` and {glue:text}`key:.1%` and $x^2$.\n\n"
                     "$$\na = b\n$$\n", []),
        # the other edition's text, hidden in HTML comments: not read
        ("markdown", "<!-- teacher-edition -->\n<!-- /teacher-edition -->\n<!-- student-edition\n"
                     "Words only the student edition shows.\n-->\n", []),
        ("code", "x = 1\n\ny = 2\nprint(x + y)\n", []),                   # 3 lines
        ("code", "a\nb\nc\nd\ne\n", ["hide-input"]),                      # folded: not read
        ("code", "glue('key', 1)\n", ["remove-cell"]),                   # removed
        ("code", "import matplotlib.pyplot as plt\nplt.plot([1])\nplt.show()\n",
         ["hide-input"]),                                                 # a figure, folded
        ("code", "def f():\n    pass\n", ["your-turn", "hide-input"]),    # a task
        ("code", "show_source(nblib.Sequential)\n", []),                  # the shown source
        ("code", "show_source(nblib.Sequential)\n", ["hide-output"]),     # a listing folded: read
        ("code", "show_source(nblib.Sequential)\n", ["hide-input"]),      # its cell folded: not
        # an exercise's solution (nbgrader's solution flag is read as this tag): nothing counted
        ("markdown", "A written answer.\n", ["solution"]),
        ("code", "a = 1\nplt.show()\n", ["solution"]),
    ])
    time = reading.reading_time(nb, {"nblib": nblib})
    shown = len(inspect.getsource(nblib.Sequential).splitlines())
    # words: One two three with `code` and x and x -> 9 (roles and inline math are one word)
    assert (time.words, time.equations, time.figures, time.tasks) == (9, 1, 1, 1)
    assert time.code_lines == 3 + 2 * shown      # as the intro says: "How long it takes"
    assert time.minutes == pytest.approx(9 / 200 + (3 + 2 * shown) / 10 + (30 + 20) / 60)
    assert str(time) == f"about {max(1, round(time.minutes))} minutes"      # under 10
    for minutes, said in ((7.4, 7), (0.2, 1), (9.6, 10), (12.4, 10), (12.6, 15), (47, 45)):
        words = round(minutes * reading.WORDS_PER_MINUTE)
        assert str(reading.ReadingTime(words, 0, 0, 0)) == f"about {said} minutes", minutes
    assert time.method().endswith("writing the task comes on top")


def test_reading_time_needs_the_namespace_of_shown_source(tmp_path):
    nb = _notebook(tmp_path / "page.ipynb", [("code", "show_source(nblib.Sequential)\n", [])])
    with pytest.raises(ValueError, match="namespace"):
        reading.reading_time(nb)


def test_reading_time_counts_the_text_that_hidden_cells_write(tmp_path):
    # teacher_guide's tables are written by remove-input cells: not in the source
    nb = _notebook(tmp_path / "page.ipynb", [
        ("markdown", "Four words of prose.\n", []),
        ("code", "show(table)\n", ["remove-input"]),
    ])
    table = "| task | says |\n|---|---|\n| `Adam` | PASS: $x$ |"
    plain = reading.reading_time(nb)
    time = reading.reading_time(nb, generated=[table, "Three more words."])
    # task says --- --- `Adam` PASS x: 7 words, and 3
    assert (plain.words, plain.generated_words) == (4, 0)
    assert (time.words, time.generated_words) == (4 + 10, 10)
    assert time.minutes == pytest.approx(14 / reading.WORDS_PER_MINUTE)
    assert time.method().startswith("14 words, 10 of them in the tables and text that the "
                                    "page's code writes, at 200 a minute, ")
    assert "of them" not in plain.method()
    both = time + plain
    assert (both.words, both.generated_words) == (18, 10)


def test_reading_time_of_a_markdown_page(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nFour words of prose.\n\n```bash\npip install x\nls\n```\n\n"
                    "```{note}\nA note.\n```\n")
    time = reading.reading_time(page)
    assert (time.words, time.code_lines) == (7, 2)   # the note's fences are markup, not words


def test_reading_time_counts_a_fence_indented_in_a_list_item_as_code(tmp_path):
    # teacher_grading.md's commands sit in list items: their fences are indented
    page = tmp_path / "page.md"
    page.write_text("1. Run this:\n\n   ```bash\n   nbgrader autograde ps1 --force\n"
                    "   ls\n   ```\n\n    ~~~\n    one more\n    ~~~\n")
    time = reading.reading_time(page)
    assert (time.words, time.code_lines) == (3, 3)   # "1", "Run", "this"; 3 lines of code


def test_the_book_pages_have_a_reading_time(tmp_path):
    scope = reading.book_scope()
    times = {stem: reading.reading_time(f"book/{stem}.ipynb", scope)
             for stem in reading.READER_PAGES}
    assert all(t.minutes > 5 for t in times.values()), times
    assert sum(t.tasks for t in times.values()) >= 10        # the your-turn tasks and exercises


def test_the_intros_total_reading_time_is_the_sum_of_its_table(monkeypatch):
    """The intro's headline total ("about N minutes of reading (measured below)") is the sum
    of the page times its table shows, each rounded on its own."""
    import re
    from pathlib import Path

    from nblib.pages import glue as glue_module

    glued = {}
    monkeypatch.setattr(glue_module, "_myst_nb_glue",
                        lambda name, value, display=True: glued.__setitem__(name, value))
    reading.glue_book_reading_time("book")
    intro = Path("book/intro.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \{doc\}`(\w+)` \| \{glue:text\}`01_data\.ipynb::(\w+):s` \|$",
                      intro, re.M)
    assert [stem for stem, _ in rows] == list(reading.READER_PAGES), rows
    assert all(key == f"book_reading_{stem}" for stem, key in rows), rows
    assert "`01_data.ipynb::book_reading_total:s` of reading (measured below)" in intro
    said = ("rounded to the nearest 5 minutes (to the nearest minute under 10), and the total at\n"
            "the top of this page is the sum of the rounded times in the table")
    assert said in intro                       # the rule that ReadingTime.rounded applies:
    for minutes_, rounded in ((9.4, 9), (9.6, 10), (16.8, 15), (17.6, 20)):
        words = round(minutes_ * reading.WORDS_PER_MINUTE)
        assert reading.ReadingTime(words, 0, 0, 0).rounded == rounded, minutes_

    def minutes(text):
        number, = re.fullmatch(r"about (\d+) minutes", text).groups()
        return int(number)

    shown = sum(minutes(glued[key]) for _, key in rows)
    assert minutes(glued["book_reading_total"]) == shown, (glued["book_reading_total"], shown)


def test_presets_describe_their_own_configs():
    recipe, source = PRESETS["book recipe"], PRESETS["source chapter"]
    assert recipe.config == SpiralConfig() and source.config == SpiralConfig.source()
    for preset in (recipe, source):
        config = preset.config
        assert f"({'-'.join(map(str, config.hidden))})" in preset.why, preset.why
        assert (f"dropout {config.dropout:g}" if config.dropout else "no dropout") in preset.why
    same_layers = (source.config.hidden, source.config.norm) == (recipe.config.hidden,
                                                                 recipe.config.norm)
    same = same_layers and source.config.dropout == recipe.config.dropout
    assert ("the same network" in source.why) == same, source.why
    assert ("the same layers with dropout" in source.why) == (same_layers and not same)
    assert "bigger" not in source.why


def test_markdown_table_writes_the_rows_and_refuses_ragged_ones():
    from nblib.pages.show import markdown_table

    table = markdown_table(["a", "b"], [(1, "x"), (2.5, "y")])
    assert table.data == "| a | b |\n|---|---|\n| 1 | x |\n| 2.5 | y |"
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        markdown_table(["a", "b"], [(1, 2), (3,)])
    with pytest.raises(ValueError, match="header"):
        markdown_table([], [])
