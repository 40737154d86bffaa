"""The exercises page: self-checks, its solutions (teacher edition) and the student edition.

- every self-check PASSES on the notebook's own solutions, and FAILS with a message (never
  an exception) on the starter stubs and on subtly wrong implementations;
- ``teacher/student_edition.py`` writes notebooks with no solution left in them, which run to
  the end with every self-check reporting "not implemented yet";
- the student book builds with -W, and its HTML holds no solution text;
- ``teacher/grade.py`` grades a submitted notebook.
"""
from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest

import nblib
from nblib import Module, Param, checks
from teacher import grade, student_edition as student

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "book" / "05_exercises.ipynb"
CHECK_NAMES = list(checks.EXERCISES)


# ----------------------------------------------------------------------------- helpers
def _read(path):
    return nbformat.read(path, as_version=4)


def _base_namespace():
    return {"np": np, "nblib": nblib, "Module": Module, "Param": Param, "checks": checks}


def _exec_cells(nb, keep):
    """Run the code cells for which keep(cell) is true, in order, in a fresh namespace."""
    ns = _base_namespace()
    for cell in nb.cells:
        if cell.cell_type == "code" and keep(cell):
            exec(compile(cell.source, f"<{cell.get('id')}>", "exec"), ns)
    return ns


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _is_definition(cell):
    """A starter, or the first code cell of a solution (it defines the object, then checks it)."""
    return "starter" in _tags(cell) or (cell.get("id", "").endswith("-sol")
                                        and "solution" in _tags(cell))


def _solution_cells(nb):
    """The cells inside gated solutions (solution-start ... solution-end, both included)."""
    inside, out = False, []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "markdown" and "{solution-start}" in src:
            inside = True
        if inside:
            out.append(cell)
        if cell.cell_type == "markdown" and "{solution-end}" in src:
            inside = False
    return out


def _fingerprints(nb):
    """Lines of the solutions that appear nowhere else in the notebook: if one of them is
    found in a student edition, a solution has leaked."""
    sol_ids = {id(c) for c in _solution_cells(nb)}
    elsewhere = "\n".join(c.source for c in nb.cells if id(c) not in sol_ids)
    prints = set()
    for cell in _solution_cells(nb):
        for line in cell.source.splitlines():
            line = line.strip()
            if len(line) >= 25 and line not in elsewhere and "solution-" not in line:
                prints.add(line)
    return sorted(prints)


def _norm(text):
    return re.sub(r"\s+", " ", text)


class _Text(HTMLParser):
    """The visible text of an HTML page (what a student could read)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _html_text(path):
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return _norm("".join(p.parts))


# ----------------------------------------------------------------------------- teacher edition
@pytest.fixture(scope="module")
def teacher():
    return _read(EXERCISES)


@pytest.fixture(scope="module")
def solutions(teacher):
    return _exec_cells(teacher, _is_definition)


@pytest.fixture(scope="module")
def stubs(teacher):
    return _exec_cells(teacher, lambda c: "starter" in _tags(c))


def test_notebook_is_committed_without_outputs(teacher):
    for cell in teacher.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.get("id")


def test_every_exercise_has_starter_selfcheck_and_gated_dropdown_solution(teacher):
    md = "\n".join(c.source for c in teacher.cells if c.cell_type == "markdown")
    labels = re.findall(r"````\{exercise\}[^\n]*\n:label: (\S+)", md)
    assert len(labels) == len(CHECK_NAMES) == 6
    for label in labels:
        assert re.search(r"```\{solution-start\} " + re.escape(label) + r"\n:class: dropdown", md)
    assert md.count("{solution-start}") == md.count("{solution-end}") == len(labels)
    starters = [c for c in teacher.cells if "starter" in _tags(c)]
    selfchecks = [c.source for c in teacher.cells if "self-check" in _tags(c)]
    assert len(starters) == len(selfchecks) == len(labels)
    for name, (obj, _) in checks.EXERCISES.items():
        assert any(f"checks.{name}({obj})" in s for s in selfchecks), name
    for cell in starters:
        assert "NotImplementedError" in cell.source and "TODO" in cell.source
    # every code cell inside a solution is tagged, so the student edition can find it
    for cell in _solution_cells(teacher):
        if cell.cell_type == "code":
            assert "solution" in _tags(cell), cell.get("id")


def test_solutions_pass_every_check(solutions, capsys):
    results = checks.grade(solutions)
    assert set(results) == set(CHECK_NAMES)
    for name, result in results.items():
        assert result.passed, f"{name}: {result.message}"
        assert bool(result) is True
    out = capsys.readouterr().out
    assert out.count("PASS") >= len(CHECK_NAMES)


def test_stubs_fail_as_not_implemented_without_raising(stubs, capsys):
    results = checks.grade(stubs)
    for name, result in results.items():
        assert not result.passed, name
        assert not bool(result)
        assert result.message.startswith("not implemented yet"), result.message
    out = capsys.readouterr().out
    assert out.count("FAIL - not implemented yet") == len(CHECK_NAMES)


def test_check_result_object_and_printing(solutions, capsys):
    r = checks.layernorm(solutions["MyLayerNorm"], verbose=False)
    assert capsys.readouterr().out == ""
    assert r.passed and r.name == "layernorm" and "gradient check" in r.message
    assert set(r.details) >= {"input", "weight", "bias", "forward"}
    assert "PASS" in repr(r) and str(r).startswith("layernorm: PASS")


# ----------------------------------------------------------------------------- wrong solutions
def _layernorm_variant(solutions, *, forward=None, backward=None):
    base = solutions["MyLayerNorm"]
    attrs = {}
    if forward is not None:
        attrs["forward"] = forward
    if backward is not None:
        attrs["backward"] = backward
    return type("WrongLayerNorm", (base,), attrs)


def _ln_backward_without_variance_path(self, dout):
    x_hat, d = self._x_hat, dout.shape[1]
    self.bias.grad[...] = dout.sum(axis=0)
    self.weight.grad[...] = (dout * x_hat).sum(axis=0)
    g = dout * self.weight.value
    return self._inv_std / d * (d * g - g.sum(axis=1, keepdims=True))   # variance path missing


def _ln_backward_wrong_weight_grad(self, dout):
    dx = type(self).__mro__[1].backward(self, dout)
    self.weight.grad[...] = dout.sum(axis=0)                            # forgot x_hat
    return dx


def _ln_forward_over_batch(self, x):
    mean, var = x.mean(axis=0), x.var(axis=0)
    self._inv_std = 1 / np.sqrt(var + self.eps)
    self._x_hat = (x - mean) * self._inv_std
    return self._x_hat * self.weight.value + self.bias.value


def test_layernorm_backward_missing_a_term_names_input_and_error_size(solutions):
    r = checks.layernorm(_layernorm_variant(solutions, backward=_ln_backward_without_variance_path))
    assert not r.passed
    assert "gradient check failed for input" in r.message
    size = float(re.search(r"input (\d\.\de[-+]\d+)", r.message).group(1))
    assert size > 1e-3 and r.details["input"] == pytest.approx(size, rel=0.1)
    assert r.details["weight"] < checks.GRAD_TOL and r.details["bias"] < checks.GRAD_TOL
    assert "weight" not in r.message.split("look at")[0].split("failed for")[1]


def test_layernorm_wrong_weight_gradient_names_weight(solutions):
    r = checks.layernorm(_layernorm_variant(solutions, backward=_ln_backward_wrong_weight_grad))
    assert not r.passed and "failed for weight" in r.message and r.details["weight"] > 1e-3


def test_layernorm_over_the_batch_is_recognised(solutions):
    r = checks.layernorm(_layernorm_variant(solutions, forward=_ln_forward_over_batch))
    assert not r.passed and "matches BatchNorm" in r.message and "axis 1" in r.message


def test_layernorm_other_errors_are_failures_not_crashes(solutions):
    def broken(self, x):
        raise ValueError("shapes do not align")
    r = checks.layernorm(_layernorm_variant(solutions, forward=broken))
    assert not r.passed and "forward(x) raised ValueError: shapes do not align" in r.message

    class NotAModule:
        def __init__(self, d):
            pass
    r = checks.layernorm(NotAModule)
    assert not r.passed and "subclass nblib.Module" in r.message


def _adam(decoupled=False, bias_correction=True):
    def step(w, grad, m, v, t, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
        if decoupled:
            w = w * (1 - lr * weight_decay)
            g = grad
        else:
            g = grad + weight_decay * w
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        mh, vh = (m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)) if bias_correction else (m, v)
        return w - lr * mh / (np.sqrt(vh) + eps), m, v
    return step


@pytest.mark.parametrize("variant, words", [
    (_adam(decoupled=True), "matches AdamW"),
    (_adam(bias_correction=False), "without bias correction"),
    (lambda w, grad, m, v, t, **kw: w, "must return the tuple (w, m, v)"),
])
def test_adam_l2_wrong_variants_fail_with_a_reason(variant, words):
    r = checks.adam_l2(variant, verbose=False)
    assert not r.passed and words in r.message, r.message
    if "differ" in r.message:
        assert r.details["max_abs_error"] > 1e-6


@pytest.mark.parametrize("variant, words", [
    (lambda sizes, val, test: (sizes[int(np.argmin(test))], float(min(test))),
     "lowest *test* loss"),
    (lambda sizes, val, test: (sizes[int(np.argmin(val))], float(min(val))), "validation loss"),
    (lambda sizes, val, test: (int(np.argmin(val)), float(test[int(np.argmin(val))])),
     "position in the list"),
    (lambda sizes, val, test: (sizes[int(np.argmin(val))], float(min(test))),
     "lowest test loss of all"),
])
def test_hidden_size_wrong_variants_fail_with_a_reason(variant, words):
    r = checks.best_hidden_size(variant, verbose=False)
    assert not r.passed and words in r.message, r.message


def _momentum(kind):
    def step(w, grad, buf, *, lr, momentum=0.9):
        if kind == "ema":
            buf = (1 - momentum) * grad if buf is None else momentum * buf + (1 - momentum) * grad
            return w - lr * buf, buf
        buf = lr * grad if buf is None else momentum * buf + lr * grad
        return w - buf, buf
    return step


@pytest.mark.parametrize("kind, words", [("ema", "exponential average"),
                                         ("lr_inside", "keep lr out of the buffer")])
def test_momentum_wrong_variants_fail_with_a_reason(kind, words):
    r = checks.sgd_momentum(_momentum(kind), verbose=False)
    assert not r.passed and words in r.message, r.message


def test_warmup_cosine_off_by_one_and_no_clamp(solutions):
    good = solutions["warmup_cosine"]

    def off_by_one(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
        if step < warmup_steps:
            return lr * step / warmup_steps
        return good(step, lr, total_steps, warmup_steps, min_lr)

    def no_clamp(step, lr, total_steps, warmup_steps=0, min_lr=0.0):
        if step < warmup_steps:
            return lr * (step + 1) / warmup_steps
        frac = (step - warmup_steps) / (total_steps - warmup_steps)
        return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * frac)) / 2

    r = checks.warmup_cosine(off_by_one, verbose=False)
    assert not r.passed and "at step 0 (warm-up)" in r.message and "(step + 1)" in r.message
    r = checks.warmup_cosine(no_clamp, verbose=False)
    assert not r.passed and "after the end" in r.message and "min_lr" in r.message


def _dropout_variant(solutions, forward=None, backward=None):
    base = solutions["MyDropout"]
    attrs = {k: v for k, v in (("forward", forward), ("backward", backward)) if v is not None}
    return type("WrongDropout", (base,), attrs)


def test_dropout_wrong_variants_fail_with_a_reason(solutions):
    def keep_p(self, x):
        if not self.training:
            return x
        self._mask = (self.rng.random(x.shape) < self.p) / self.p      # p used as "keep"
        return x * self._mask

    def unscaled(self, x):
        if not self.training:
            return x
        self._mask = (self.rng.random(x.shape) >= self.p) * 1.0
        return x * self._mask

    def new_mask(self, dout):
        return dout * ((self.rng.random(dout.shape) >= self.p) / (1 - self.p))

    def always(self, x):
        self._mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self._mask

    cases = [(dict(forward=keep_p), "probability to keep"),
             (dict(forward=unscaled), "1 / (1 - p)"),
             (dict(backward=new_mask), "mask of the last forward"),
             (dict(forward=always), "evaluation mode")]
    for kwargs, words in cases:
        r = checks.dropout(_dropout_variant(solutions, **kwargs), verbose=False)
        assert not r.passed and words in r.message, (kwargs, r.message)


def test_checks_reject_the_wrong_kind_of_argument(solutions):
    with pytest.raises(TypeError, match="cls must be a class.*not an instance"):
        checks.layernorm(solutions["MyLayerNorm"](3))
    with pytest.raises(TypeError, match="cls must be a class"):
        checks.dropout("MyDropout")
    for check, name in ((checks.adam_l2, "step_fn"), (checks.best_hidden_size, "choose_fn"),
                        (checks.sgd_momentum, "step_fn"), (checks.warmup_cosine, "schedule_fn")):
        with pytest.raises(TypeError, match=f"{name} must be a function"):
            check(42)
    with pytest.raises(TypeError, match="namespace must be a dict"):
        checks.grade(["MyLayerNorm"])
    r = checks.grade({}, verbose=False)["layernorm"]
    assert not r.passed and "MyLayerNorm is not defined" in r.message


# ----------------------------------------------------------------------------- student edition
@pytest.fixture(scope="module")
def student_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "book-student"
    proc = subprocess.run([sys.executable, str(ROOT / "teacher" / "student_edition.py"), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr.lower() or "05_exercises" not in proc.stderr
    return out


def test_student_edition_layout(student_book):
    teacher_nbs = sorted(p.name for p in (ROOT / "book").glob("*.ipynb"))
    assert sorted(p.name for p in (student_book / "book").glob("*.ipynb")) == teacher_nbs
    assert (student_book / "_toc.yml").read_text() == (ROOT / "_toc.yml").read_text()
    config = (student_book / "_config.yml").read_text()
    assert re.search(r"^\s*hide_solutions: true\s*$", config, re.MULTILINE)
    assert not re.search(r"^\s*hide_solutions:\s*false", config, re.MULTILINE)
    for md in (ROOT / "book").glob("*.md"):
        assert (student_book / "book" / md.name).exists()
    assert "teacher edition only" in (student_book / "book" / "teacher_guide.md").read_text()


def test_leak_detector_sees_the_solutions_of_the_teacher_edition(teacher):
    prints = _fingerprints(teacher)
    teacher_text = "\n".join(c.source for c in teacher.cells)
    stripped = "\n".join(c.source for c in student.student_notebook(teacher).cells)
    assert all(p in teacher_text for p in prints)
    assert not [p for p in prints if p in stripped]


def test_no_solution_text_in_student_notebooks(teacher, student_book):
    prints = _fingerprints(teacher)
    assert len(prints) > 30                # the check has something to look for
    distinctive = ["g.sum(axis=1, keepdims=True)", "g = grad + weight_decay * w",
                   "best = int(np.argmin(val_losses))", "momentum * buf + grad",
                   "(1 + np.cos(np.pi * t / (total_steps - warmup_steps)))",
                   "(self.rng.random(x.shape) >= self.p) / (1 - self.p)",
                   "The backward pass is BatchNorm's with the axes swapped"]
    teacher_text = "\n".join(c.source for c in teacher.cells)
    for s in distinctive:
        assert s in teacher_text, s
    for path in (student_book / "book").glob("*.ipynb"):
        nb = _read(path)
        text = "\n".join(c.source for c in nb.cells)
        for marker in ("solution-start", "solution-end", "{solution}"):
            assert marker not in text, (path.name, marker)
        # the fingerprints are lines of this page's solutions; other pages may share
        # generic lines (a plt.subplots call), so only the distinctive strings go everywhere
        leaked = [p for p in (prints if path.name == EXERCISES.name else []) + distinctive
                  if p in text]
        assert not leaked, (path.name, leaked[:3])
        for cell in nb.cells:
            assert "solution" not in _tags(cell), (path.name, cell.get("id"))
            if cell.cell_type == "code":
                assert cell.outputs == []
    # what remains of the exercises: the text, the starters and the self-checks
    nb = _read(student_book / "book" / EXERCISES.name)
    assert sum("starter" in _tags(c) for c in nb.cells) == len(CHECK_NAMES)
    assert sum("self-check" in _tags(c) for c in nb.cells) == len(CHECK_NAMES)
    assert sum("{exercise}" in c.source for c in nb.cells) == len(CHECK_NAMES)


def test_student_notebook_runs_and_every_selfcheck_reports_fail(student_book):
    from nbclient import NotebookClient

    path = student_book / "book" / EXERCISES.name
    nb = _read(path)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()   # no error
    reports = {}
    for cell in nb.cells:
        if "self-check" in _tags(cell):
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert not any(o.output_type == "error" for o in cell.outputs)
            reports[cell.get("id")] = text
    assert len(reports) == len(CHECK_NAMES)
    for cell_id, text in reports.items():
        assert "FAIL - not implemented yet" in text, (cell_id, text)


@pytest.mark.slow
def test_student_book_builds_with_W_and_its_html_has_no_solutions(teacher, student_book,
                                                                  tmp_path):
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(student_book), "--path-output", str(tmp_path),
                           "-W", "-n", "--keep-going"], capture_output=True, text=True,
                          timeout=900)
    warnings = [re.sub(r"\x1b\[[0-9;]*m", "", line)
                for line in (proc.stdout + proc.stderr).splitlines()
                if "WARNING" in line or "ERROR" in line]
    html_dir = tmp_path / "_build" / "html"
    # first what a student could read (checked even if some page failed to build) ...
    page = html_dir / "book" / "05_exercises.html"
    text = _html_text(page)
    raw = page.read_text(encoding="utf-8")
    labels = re.findall(r":label: (ex-[\w-]+)", "\n".join(c.source for c in teacher.cells))
    assert len(labels) == len(CHECK_NAMES)
    for label in labels:
        assert f'id="{label}"' in raw, label                  # the exercise is there...
    assert "not implemented yet" in text                       # ...its self-check ran...
    assert "Solution to" not in text and 'class="solution' not in raw   # ...no solution
    prints = [_norm(p) for p in _fingerprints(teacher)]
    leaked = [p for p in prints if p in text]
    assert not leaked, leaked[:3]
    distinctive = ["g.sum(axis=1, keepdims=True)", "best = int(np.argmin(val_losses))",
                   "(self.rng.random(x.shape) >= self.p) / (1 - self.p)"]
    for html in html_dir.rglob("*.html"):
        other = _html_text(html)
        assert not [d for d in distinctive if d in other], html.name
        assert "solution-start" not in other and "Solution to Exercise" not in other
    # ... then the build itself: -W turns any warning, on any page, into a failure
    pages = sorted({m.group(1) for w in warnings for m in [re.search(r"book/(\w+)\.", w)] if m})
    assert proc.returncode == 0, (f"student book build failed; pages with warnings: {pages}\n"
                                  + "\n".join(warnings[-15:]))


# ----------------------------------------------------------------------------- student.py unit
def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_student_notebook_removes_gated_and_plain_solutions_and_stubs_tagged_cells():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    tagged = code("answer = 42  # SECRET-3")
    tagged.metadata["tags"] = ["solution"]
    nb = _nb(md("Intro\n\n```{exercise}\n:label: e\nDo it.\n```"),
             md("Before the solution.\n\n```{solution-start} e\n:class: dropdown\n```\nSECRET-1"),
             code("x = 1  # SECRET-2"),
             md("```{solution-end}\n```\nAfter the solution."),
             md("Text\n\n````{solution} e\n```python\nSECRET-4\n```\n````\nkept"),
             tagged)
    out = student.student_notebook(nb, where="t.ipynb")
    text = "\n".join(c.source for c in out.cells)
    assert "SECRET" not in text and "{solution" not in text
    assert "Before the solution." in text and "After the solution." in text and "kept" in text
    stub = out.cells[-1]
    assert "raise NotImplementedError" in stub.source
    assert "raises-exception" in stub.metadata["tags"]


@pytest.mark.parametrize("cells, words", [
    (["```{solution-start} e\n```\n"], "solution-start without solution-end"),
    (["```{solution-end}\n```\n"], "solution-end without solution-start"),
    (["````{solution} e\nno end\n"], "unclosed"),
])
def test_student_notebook_refuses_unbalanced_solutions(cells, words):
    nb = _nb(*[nbformat.v4.new_markdown_cell(c) for c in cells])
    with pytest.raises(student.StudentEditionError, match=words):
        student.student_notebook(nb)


def test_student_refuses_to_overwrite_other_folders(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        student.write_student_edition(tmp_path)
    with pytest.raises(ValueError, match="outdir must not be the book itself"):
        student.write_student_edition(ROOT / "book" / "x")
    proc = subprocess.run([sys.executable, str(ROOT / "teacher" / "student_edition.py"), str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_missing_glue_detects_keys_only_a_solution_glued():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = _nb(code('glue("a", 1, display=False)\nfor k in "xy":\n    glue(f"b_{k}_c", 2)'),
             md("{glue:text}`a:.1f` {glue:text}`b_x_c` {glue:md}`gone` {glue}`also_gone`"))
    assert student.missing_glue(nb) == ["also_gone", "gone"]


def test_teacher_guide_documents_the_student_edition_and_grading():
    guide = (ROOT / "book" / "teacher_guide.md").read_text()
    for words in ("teacher/student_edition.py", "hide_solutions: true", "jupyter-book build",
                  "teacher/grade.py", "--nbval-lax", "Learning objectives"):
        assert words in guide, words
    for stage in ("01_data", "02_network", "03_training", "04_visualisation", "playground",
                  "05_exercises"):
        assert "{doc}`" + stage + "`" in guide, stage


# ----------------------------------------------------------------------------- grading
def test_grade_notebook_of_a_completed_student_notebook(teacher, student_book, tmp_path):
    """A student fills in every starter with the solution: the grading script gives 6/6;
    the untouched student notebook gives 0/6."""
    nb = _read(student_book / "book" / EXERCISES.name)
    answers = {c.get("id").replace("-sol", "-starter"): c.source for c in teacher.cells
               if _is_definition(c) and "solution" in _tags(c)}
    for cell in nb.cells:
        if cell.get("id") in answers:
            cell.source = answers[cell.get("id")]
    done = tmp_path / "done.ipynb"
    nbformat.write(nb, done)
    proc = subprocess.run([sys.executable, str(ROOT / "teacher" / "grade.py"), str(done),
                           str(student_book / "book" / EXERCISES.name)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert f"done.ipynb: {len(CHECK_NAMES)}/{len(CHECK_NAMES)} checks passed" in proc.stdout, \
        proc.stdout + proc.stderr
    assert f"05_exercises.ipynb: 0/{len(CHECK_NAMES)} checks passed" in proc.stdout
    assert proc.returncode == 1                       # some check failed (the untouched one)
