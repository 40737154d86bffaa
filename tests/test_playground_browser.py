"""The playground in a real browser: Voila serves it, Debian's Chromium drives it.

Opens a small notebook that displays ``nblib.viz.widgets.playground()``, changes a
control, presses Train, watches the frames arrive, presses Stop, and checks
that the plot changed and that the page logged no errors.  Skips, saying why,
when Chromium, Playwright or Voila is missing.
"""
import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EPOCHS = 300            # long enough that Stop arrives mid-run
# Known noise, not the playground's.  Voila's page loads Font Awesome (the buttons' icons)
# from a CDN, which fails offline; Chromium then logs "Failed to load resource" without the
# address, so every failed request is checked against ALLOWED_FAILED_REQUESTS instead.
ALLOWED_FAILED_REQUESTS = (re.compile(r"^https://cdn\.jsdelivr\.net/npm/@fortawesome/"),
                           re.compile(r"/favicon\.ico$"))
ALLOWED_CONSOLE = (re.compile(r"^Failed to load resource: net::ERR_"),)
# JupyterLab extensions installed for other tools (Notebook 7, nbgrader's teacher UI) that
# cannot load in Voila's page: they would only log "Shared module ... doesn't exist".
NOT_FOR_VOILA = ["@jupyter-notebook/lab-extension", "@jupyter/nbgrader"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium, or set BOOK_CHROMIUM)")
    for module in ("playwright", "voila", "ipywidgets"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -r requirements.txt)")
    folder = tmp_path_factory.mktemp("voila")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from nblib import SpiralConfig\n"
        "from nblib.viz.widgets import playground\n"
        f"playground(SpiralConfig(epochs={EPOCHS}))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "playground.ipynb")
    port = _free_port()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", JUPYTER_RUNTIME_DIR=str(folder / "rt"),
               PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    log = open(folder / "voila.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", f"--VoilaConfiguration.extension_denylist={NOT_FOR_VOILA}",
         "playground.ipynb"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.fail(f"voila exited with {server.returncode}:\n"
                            f"{(folder / 'voila.log').read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break                      # listening
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("voila did not start within 30 s")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


def test_playground_trains_live_and_stops_in_voila(voila_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    problems, failed = [], []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(voila_url, wait_until="domcontentloaded")

            plot = page.locator("img.nblib-pg-plot")
            status = page.locator(".nblib-pg-status")
            expect(status).to_contain_text("Ready", timeout=60_000)   # kernel ran the cell
            expect(plot).to_be_visible()
            before = plot.screenshot()

            page.locator(".nblib-pg-optimizer select").select_option(label="SGD + momentum")
            expect(status).to_contain_text("Set optimizer=momentum")

            page.locator("button.nblib-pg-train").click()
            expect(status).to_contain_text(re.compile(r"Epoch \d+/300"))   # frames arrive
            expect(page.locator("button.nblib-pg-stop")).to_be_enabled()
            page.locator("button.nblib-pg-stop").click()
            expect(status).to_contain_text("Stopped after epoch")         # Stop got through
            text = status.inner_text()
            stopped_at = int(re.search(r"Stopped after epoch (\d+)/", text).group(1))
            expect(page.locator("button.nblib-pg-train")).to_be_enabled()
            after = plot.screenshot()
        finally:
            context.close()

    assert 1 <= stopped_at < EPOCHS, text
    assert after != before, "the plot did not change after training"
    unexpected = [m for m in problems if not any(a.search(m) for a in ALLOWED_CONSOLE)]
    assert not unexpected, f"console errors: {unexpected}"
    unexpected = [u for u in failed if not any(a.search(u) for a in ALLOWED_FAILED_REQUESTS)]
    assert not unexpected, f"failed requests: {unexpected}"
