"""`sketch export --format web`: the draw page as a static site that guesses in the browser.

Served by a plain static file server (no sketch process) and driven in headless Chromium with
pointer events, as a person would; its JavaScript copy of strokes.py held to the Python."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_browser import draw_strokes, shown_guesses, zigzag

from conftest import SKETCH, free_ports, sketch

STROKES_JS = Path(__file__).resolve().parents[1] / "sketchrnn_cli" / "use" / "web" / "strokes.js"
# onnxruntime-web, fetched from the npm registry once and kept beside the virtual environments
CACHE = {"SKETCH_CACHE": str(Path(__file__).resolve().parents[1] / ".cache")}


@pytest.fixture(scope="module")
def runtime():
    """onnxruntime-web in the test cache: fetched once from the npm registry, as for a user.
    Skips without a network (never in CI, where the registry is reachable and this must run)."""
    from sketchrnn_cli.errors import SketchError
    from sketchrnn_cli.use import web_runtime

    try:
        return web_runtime.runtime_files(Path(CACHE["SKETCH_CACHE"]))
    except SketchError as error:
        if os.environ.get("CI") or "cannot fetch" not in str(error):
            raise
        pytest.skip(f"onnxruntime-web is not cached and cannot be fetched here: {error}")


@pytest.fixture(scope="module")
def web_site(trained_run, runtime, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("web") / "site"
    done = sketch("export", trained_run, "--format", "web", "--out", out, env=CACHE, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "python -m http.server" in done.stderr
    return out


@pytest.fixture
def static_server(web_site):
    """`python -m http.server` serving the site: its address."""
    (port,) = free_ports(1)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(web_site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                import urllib.request

                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def open_page(browser, url):
    """Loads the page and waits for its model; the error the page shows if it fails to load."""
    browser.get(url)
    return browser.execute_async_script(
        "const done = arguments[0]; engine.ready.then(() => done(''), (error) => done(String(error)))"
    )


def test_javascript_simplifies_real_raw_drawings_as_python_does(browser, shared_quickdraw):
    """strokes.js against strokes.py on 690 real raw drawings (two per category), at the default
    max_length and at a short one that cuts: the same stroke-3 arrays, within 1e-6."""
    from sketchrnn_cli.config import DEFAULT_MAX_LENGTH
    from sketchrnn_cli.data.strokes import parse_drawing

    drawings = []
    for path in sorted((shared_quickdraw / "full" / "raw").glob("*.ndjson")):
        with path.open() as lines:
            drawings += [json.loads(next(lines))["drawing"] for _ in range(2)]
    assert len(drawings) >= 500
    browser.get("about:blank")
    for max_length in (DEFAULT_MAX_LENGTH, 40):
        ours = browser.execute_script(
            STROKES_JS.read_text()
            + "return arguments[0].map((d) => Array.from(SketchStrokes.parseDrawing(d, arguments[1]).rows));",
            drawings,
            max_length,
        )
        for index, (drawing, rows) in enumerate(zip(drawings, ours)):
            expected = parse_drawing(drawing, max_length)
            found = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
            assert found.shape == expected.shape, f"drawing {index}: {found.shape} points, Python {expected.shape}"
            assert np.abs(found - expected).max() <= 1e-6, f"drawing {index} differs"


def test_the_exported_page_guesses_in_the_browser_as_sketch_predict(browser, static_server, trained_run, tmp_path):
    """No sketch process: a plain static server, the pen in Chromium, the saved file given to
    `sketch predict`: the same top 3, probabilities within 1e-4, and the same "not sure"."""
    from sketchrnn_cli.use.draw import raw_line

    assert open_page(browser, static_server) == ""
    canvas = browser.find_element("id", "canvas")
    strokes = zigzag()
    draw_strokes(browser, canvas, strokes)
    guesses = shown_guesses(browser, browser.execute_script("return points()"))
    assert len(guesses) == 3 and guesses[0][1] >= guesses[1][1] >= guesses[2][1]
    unsure_shown = browser.execute_script("return !document.getElementById('unsure').hidden")

    browser.find_element("id", "save").click()
    assert "saved as" in browser.find_element("id", "status").text
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.find_element("id", "download").click()
    saved = tmp_path / "drawings.ndjson"
    for _ in range(100):
        if saved.is_file():
            break
        time.sleep(0.1)
    line = saved.read_text()
    record = json.loads(line)
    # exactly a line of `sketch draw --save-to`: its fields in its order, as compact JSON
    assert list(record) == list(json.loads(raw_line([], "x", True)))
    assert line == json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert re.fullmatch(r"[1-9]\d{15}", record["key_id"]) and record["countrycode"] == "ZZ"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC", record["timestamp"])
    assert record["word"] == guesses[0][0] and record["recognized"] is True
    assert len(record["drawing"]) == len(strokes) and all(len(stroke) == 3 for stroke in record["drawing"])

    done = subprocess.run(
        [*SKETCH, "predict", "--model", str(trained_run), "--json", str(saved)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert [p["label"] for p in answer["predictions"]] == [label for label, _ in guesses]
    assert np.allclose([p["probability"] for p in answer["predictions"]], [p for _, p in guesses], atol=1e-4)
    assert answer["unsure"] == unsure_shown
    own = sketch("download", "--data-dir", tmp_path / "data", "--source", saved, "--own-categories")
    assert own.returncode == 0 and f"{record['word']}: 0 official + 1 yours" in own.stderr, own.stderr

    not_sure = browser.execute_async_script(  # a model unsure of everything says so, as sketch predict
        "const done = arguments[1]; strokes = arguments[0]; SETUP.unsureBelow = 1.01;"
        "guess().then(() => done(document.getElementById('unsure').hidden))",
        record["drawing"],
    )
    assert not_sure is False

    origin = static_server.rstrip("/")
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map((r) => r.name)")
    assert fetched and all(name.startswith(origin) for name in fetched), fetched  # nothing from another host


def test_hostile_drawings_neither_hang_nor_show_a_guess(browser, static_server):
    assert open_page(browser, static_server) == ""
    script = """
        const done = arguments[1];
        strokes = arguments[0] === "nan" ? [[[1, NaN, 3], [1, 2, 3], [0, 1, 2]]] : arguments[0];
        const started = performance.now();
        guess().then(() => done({
            guesses: document.querySelectorAll('#guesses li[data-label]').length,
            status: document.getElementById('status').textContent,
            seconds: (performance.now() - started) / 1000}));
    """
    for drawing, error in (
        ("nan", "not finite"),
        ([[[0, 1e9], [0, 1], [0, 1]]], "exceed"),
        ([[[5, 5.0000001], [5, 5], [0, 1]]], "too small"),
        ([], ""),
    ):
        shown = browser.execute_async_script(script, drawing)
        assert shown["guesses"] == 0 and error in shown["status"], (drawing, shown)
    # a 40,000-point zigzag: bounded work, one guess, in time
    xs = [float(i % 2 * 300) for i in range(40_000)]
    ys = [i * 0.01 for i in range(40_000)]
    shown = browser.execute_async_script(script, [[xs, ys, list(range(40_000))]])
    assert shown["guesses"] == 3 and shown["seconds"] < 10, shown


def test_the_page_and_server_mode_are_one_source(web_site):
    """The exported page is draw.html with the in-browser engine named: no second copy of the UI."""
    from sketchrnn_cli.config import RunConfig
    from sketchrnn_cli.use.web_export import site_files

    page = (web_site / "index.html").read_text()
    template = (STROKES_JS.parent / "draw.html").read_text()
    for line in template.splitlines():
        if "__SKETCH_" not in line:
            assert line in page
    setup = json.loads(page.split('id="sketch-setup">')[1].split("</script>")[0])
    assert setup["engine"] == "browser" and setup["model"] == "model.onnx"
    assert site_files(RunConfig(), "x")["in_browser.js"] == (web_site / "in_browser.js").read_bytes()


def test_export_web_never_replaces_a_file_it_did_not_write(trained_run, runtime, web_site, tmp_path):
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "index.html").write_text("<h1>my home page</h1>")
    done = sketch("export", trained_run, "--format", "web", "--out", mine, env=CACHE)
    assert done.returncode == 1 and "index.html that sketch did not write" in done.stderr, done.stderr
    assert (mine / "index.html").read_text() == "<h1>my home page</h1>"
    assert sorted(p.name for p in mine.iterdir()) == ["index.html"]

    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(web_site), str(copy)], check=True)
    again = sketch("export", trained_run, "--format", "web", "--out", copy, env=CACHE)
    assert again.returncode == 0, again.stderr  # a second export of the same run: updated in place
    (copy / "in_browser.js").write_text("// my changes\n")
    edited = sketch("export", trained_run, "--format", "web", "--out", copy, env=CACHE)
    assert edited.returncode == 1 and "in_browser.js that sketch did not write, or that was changed" in edited.stderr
    assert (copy / "in_browser.js").read_text() == "// my changes\n"


def test_a_tampered_runtime_is_refused(tmp_path):
    """The tarball must be the one npm published: its sha512 is pinned."""
    from sketchrnn_cli.errors import SketchError
    from sketchrnn_cli.use import web_runtime

    (tmp_path / web_runtime.PACKAGE).write_bytes(b"not the tarball")
    with pytest.raises(SketchError, match="not onnxruntime-web .* as npm published it"):
        web_runtime.runtime_files(tmp_path)
    assert web_runtime.cached(tmp_path) is None


def test_without_a_network_the_export_says_how_to_do_without_one(trained_run, tmp_path):
    """One line naming the registry and the tarball to put in the cache; nothing written."""
    (port,) = free_ports(1)  # nothing listens there
    env = {"SKETCH_CACHE": str(tmp_path / "cache"), "npm_config_registry": f"http://127.0.0.1:{port}"}
    done = sketch("export", trained_run, "--format", "web", "--out", tmp_path / "site", env=env)
    assert done.returncode == 1
    error = done.stderr.strip().splitlines()[-1]
    assert f"cannot fetch http://127.0.0.1:{port}/onnxruntime-web/-/onnxruntime-web-" in error
    assert "npm pack onnxruntime-web@" in error and "Traceback" not in done.stderr
    assert not (tmp_path / "site").exists()


def test_the_exported_page_works_at_phone_size_with_touch(browser, static_server):
    browser.set_window_size(390, 844)
    try:
        assert open_page(browser, static_server) == ""
        canvas = browser.find_element("id", "canvas")
        assert 250 < canvas.rect["width"] <= 390
        draw_strokes(browser, canvas, zigzag(scale=1.0), pointer="touch")
        assert len(shown_guesses(browser, browser.execute_script("return points()"))) == 3
    finally:
        browser.set_window_size(1000, 900)


def test_a_runtime_folder_that_is_a_link_is_refused_not_written_through(trained_run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "ort").symlink_to(elsewhere)
    done = sketch("export", trained_run, "--format", "web", "--out", tmp_path / "site", env=CACHE)
    assert done.returncode == 1 and "holds an ort that is not a folder" in done.stderr, done.stderr
    assert not any(elsewhere.iterdir())
