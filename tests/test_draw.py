"""`sketch draw`'s server and API, over real HTTP: guesses, saving, and what it refuses."""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from conftest import shape_drawing


def raw_drawing(shape="zigzag", seed=0):
    """A drawing as the page sends it: page pixels and milliseconds per point."""
    strokes = shape_drawing(shape, np.random.default_rng(seed))
    return [[[x * 2.0 + 10 for x in xs], [y * 2.0 + 10 for y in ys], list(range(0, 16 * len(xs), 16))]
            for xs, ys in strokes]


def call(url, path, body=None, headers=None, data=None, method=None):
    """(status, parsed JSON or text, headers) of one request."""
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text, answer_headers = response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        status, text, answer_headers = error.code, error.read().decode(), error.headers
    kind = answer_headers.get("Content-Type", "")
    return status, json.loads(text) if kind.startswith("application/json") else text, answer_headers


def token_of(url):
    _, page, _ = call(url, "/", method="GET")
    return page.split('name="sketch-token" content="')[1].split('"')[0]


def test_page_is_served_with_a_token_and_no_cors(draw_server):
    url, _, _ = draw_server
    status, page, headers = call(url, "/", method="GET")
    assert status == 200 and "<canvas" in page and "/api/predict" in page
    assert len(token_of(url)) == 32
    assert "Access-Control-Allow-Origin" not in headers


def test_guesses_equal_sketch_predict_on_the_saved_drawing(draw_server, trained_run):
    url, save_to, _ = draw_server
    drawing = raw_drawing("zigzag")
    status, guessed, _ = call(url, "/api/predict", {"drawing": drawing, "k": 3})
    assert status == 200 and len(guessed["predictions"]) == 3
    status, saved, _ = call(url, "/api/save", {"drawing": drawing, "word": ""}, {"X-Sketch-Token": token_of(url)})
    assert status == 200 and saved["word"] == guessed["predictions"][0]["label"]
    line = json.loads(save_to.read_text())
    assert line["drawing"] == drawing and line["recognized"] is True and line["word"] == saved["word"]
    assert {"key_id", "countrycode", "timestamp"} <= set(line)
    done = subprocess.run([sys.executable, "-m", "sketchrnn_cli.cli", "predict", "--model", str(trained_run),
                           "--json", str(save_to)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["predictions"] == guessed["predictions"]


def test_save_appends_whole_lines_with_the_typed_word(draw_server):
    url, save_to, _ = draw_server
    token = token_of(url)
    for seed, word in enumerate(["my doodle", "circle"]):
        status, _, _ = call(url, "/api/save", {"drawing": raw_drawing("circle", seed), "word": word},
                            {"X-Sketch-Token": token})
        assert status == 200
    lines = save_to.read_text().splitlines()
    assert [json.loads(line)["word"] for line in lines] == ["my doodle", "circle"]


@pytest.mark.parametrize("headers", [{}, {"X-Sketch-Token": "0" * 32}])
def test_save_without_the_page_token_is_refused(draw_server, headers):
    url, save_to, _ = draw_server
    status, answer, _ = call(url, "/api/save", {"drawing": raw_drawing()}, headers)
    assert status == 403 and "X-Sketch-Token" in answer["error"]
    assert not save_to.exists()


def test_requests_for_another_host_name_are_refused(draw_server):
    """A page that rebinds its own name to 127.0.0.1 cannot read the token."""
    url, _, _ = draw_server
    status, answer, _ = call(url, "/", method="GET", headers={"Host": "evil.example:80"})
    assert status == 403 and "token" not in json.dumps(answer)


@pytest.mark.parametrize("data, status, words", [
    (b"{not json", 400, "bad JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (json.dumps({"k": 3}).encode(), 400, "'drawing'"),
    (json.dumps({"drawing": [[[1], [2]]]}).encode(), 400, "fewer than 2 points"),
    (json.dumps({"drawing": [[[0, 5], [0, 5]]], "k": 0}).encode(), 400, "'k'"),
    (b"{" + b" " * (1 << 20) + b"}", 413, "at most"),
])
def test_bad_bodies_get_a_json_error_and_the_server_goes_on(draw_server, data, status, words):
    url, _, _ = draw_server
    got, answer, _ = call(url, "/api/predict", data=data)
    assert got == status and words in answer["error"]
    assert call(url, "/api/predict", {"drawing": raw_drawing()})[0] == 200


@pytest.mark.parametrize("path", ["/api/nothing", "/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/draw.html"])
def test_unknown_paths_are_404(draw_server, path):
    url, _, _ = draw_server
    method = "POST" if path.startswith("/api") else "GET"
    status, answer, _ = call(url, path, data=b"{}" if method == "POST" else None, method=method)
    assert status == 404 and "root:" not in json.dumps(answer)


def test_save_never_writes_through_a_symlink(trained_run, tmp_path):
    from sketchrnn_cli.draw import make_server, open_app, serving

    target = tmp_path / "precious.txt"
    target.write_text("mine\n")
    link = tmp_path / "my_drawings.ndjson"
    link.symlink_to(target)
    app = open_app(trained_run, link)
    with serving(make_server(app, "127.0.0.1", 0)) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        status, answer, _ = call(url, "/api/save", {"drawing": raw_drawing()}, {"X-Sketch-Token": app.token})
    assert status == 500 and str(link) in answer["error"]
    assert target.read_text() == "mine\n"


def test_sigterm_stops_the_server_with_one_line(draw_server):
    _, _, process = draw_server
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert "Traceback" not in process.stderr.read()


def test_a_port_in_use_is_one_line(trained_run, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "sketchrnn_cli.cli", "draw", "--model", str(trained_run),
                               "--no-browser", "--port", str(port)], capture_output=True, text=True, timeout=60,
                              env={**os.environ}, cwd=tmp_path)
    assert done.returncode == 1 and f"127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr
