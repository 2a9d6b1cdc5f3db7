"""Shared fixtures: synthetic drawings in the bucket's layout, a local HTTP mirror, ../shared."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

SKETCH = [sys.executable, "-m", "sketchrnn_cli.cli"]  # the command as a user runs it
# The one tiny model of the tests, as ModelConfig fields and as `sketch train` flags.
TINY_MODEL = dict(conv_filters=(16, 16), conv_strides=(1, 2), rnn_units=16, image_side=12)
TINY_MODEL_FLAGS = ["--conv-filters", "16,16", "--conv-strides", "1,2", "--rnn-units", "16", "--image-side", "12"]
TINY = [*TINY_MODEL_FLAGS, "--batch-size", "16", "--learning-rate", "0.01", "--patience", "100"]


def sketch(*args, stdin=None, cwd=None, timeout=300, env=None):
    """`sketch ARGS...` in a subprocess, as a user runs it: its CompletedProcess, text; ``env``
    adds to the environment."""
    return subprocess.run(
        [*SKETCH, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_error_line(done, *fragments):
    """The command failed with one error line (after any progress notes), holding every
    fragment, and no traceback."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0, done.stdout
    errors = [line for line in lines if line.startswith("Error: ")]
    assert errors == lines[-1:] and "Traceback" not in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def drawing_line(shape="circle", key_id="1", seed=0) -> str:
    rng = np.random.default_rng(seed)
    return json.dumps({"word": shape, "key_id": key_id, "drawing": shape_drawing(shape, rng)}) + "\n"


@pytest.fixture
def drawings_file(tmp_path) -> Path:
    """Three drawings of the shapes, one a bare drawing array, as a user's ndjson file."""
    rng = np.random.default_rng(7)
    lines = [
        json.dumps({"word": "circle", "key_id": "1", "drawing": shape_drawing("circle", rng)}),
        json.dumps(shape_drawing("square", rng)),  # a bare drawing array
        json.dumps({"word": "zigzag", "key_id": "3", "drawing": shape_drawing("zigzag", rng)}),
    ]
    path = tmp_path / "mine.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    """A copy of the shared trained run, free to damage."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    return run


SHARED_QUICKDRAW = Path(__file__).resolve().parents[1].parent / "shared" / "quickdraw"
SHAPES = ("circle", "zigzag", "square")  # real category names, easy to tell apart


def shape_drawing(shape: str, rng: np.random.Generator) -> list:
    """A noisy simplified-format drawing of a circle, a zigzag or a square."""
    if shape == "circle":
        t = np.linspace(0, 2 * np.pi, 24)
        x, y = np.cos(t), np.sin(t)
    elif shape == "zigzag":
        x = np.linspace(-1, 1, 9)
        y = np.where(np.arange(9) % 2 == 0, -0.6, 0.6)
    else:
        x = np.array([-1, 1, 1, -1, -1.0])
        y = np.array([-1, -1, 1, 1, -1.0])
    x = x * rng.uniform(0.6, 1.0) + rng.normal(0, 0.04, len(x))
    y = y * rng.uniform(0.6, 1.0) + rng.normal(0, 0.04, len(y))
    x = np.clip((x + 1.2) * 100, 0, 255).round().astype(int)
    y = np.clip((y + 1.2) * 100, 0, 255).round().astype(int)
    return [[x.tolist(), y.tolist()]]


def write_bucket(root: Path, per_shape: int = 40, seed: int = 0) -> Path:
    """Writes full/simplified/<shape>.ndjson for the three shapes; returns root."""
    rng = np.random.default_rng(seed)
    folder = root / "full" / "simplified"
    folder.mkdir(parents=True, exist_ok=True)
    for index, shape in enumerate(SHAPES):
        lines = [
            json.dumps(
                {
                    "word": shape,
                    "key_id": str(10**15 + index * 10**6 + i),
                    "recognized": True,
                    "countrycode": "US",
                    "drawing": shape_drawing(shape, rng),
                }
            )
            for i in range(per_shape)
        ]
        (folder / f"{shape}.ndjson").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def bucket(tmp_path) -> Path:
    return write_bucket(tmp_path / "bucket")


@pytest.fixture
def shared_quickdraw() -> Path:
    if not (SHARED_QUICKDRAW / "full" / "simplified").is_dir():
        pytest.skip("../shared/quickdraw is not here (only on the project's machines)")
    return SHARED_QUICKDRAW


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves a folder with HTTP Range support, and misbehaves on request (class attributes):
    ``drop_after`` bytes cuts every body short, ``drop_first`` only the first body of each file;
    ``fail_first`` answers each file's first request with that HTTP status; ``delay`` pauses
    between pieces of ``piece`` bytes (a slow or trickling server); ``content_type`` overrides
    the type; ``short_length`` announces fewer bytes than the body; ``md5`` sends
    x-goog-hash: True for the right checksum, a string for a wrong one."""

    drop_after: int | None = None
    drop_first: bool = False
    fail_first: int | None = None
    delay: float = 0.0
    piece: int = 4096
    content_type: str | None = None
    short_length: int | None = None
    md5: bool | str = False
    requests: list

    def log_message(self, *args):
        pass

    def do_GET(self):
        first = all(path != self.path for path, _ in self.requests)
        self.requests.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        if first and self.fail_first:
            self.send_error(self.fail_first)
            return
        data = path.read_bytes()
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(self.short_length or len(body)))
        self.send_header("Content-Type", self.content_type or "application/x-ndjson")
        if self.md5:
            digest = base64.b64encode(hashlib.md5(data).digest()).decode() if self.md5 is True else self.md5
            self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={digest}")
        self.end_headers()
        drop = (
            self.drop_after if self.drop_after is not None else (len(body) // 3 if first and self.drop_first else None)
        )
        if drop is not None:
            body = body[:drop]
        try:
            step = self.piece if self.delay else max(len(body), 1)
            for start in range(0, len(body), step):
                self.wfile.write(body[start : start + step])
                self.wfile.flush()
                time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            return
        if drop is not None:
            self.close_connection = True


@pytest.fixture
def http_mirror():
    """Starts a server on 127.0.0.1 for a folder: http_mirror(folder, **misbehaviour) -> (url, handler)."""
    servers = []

    def start(folder: Path, **misbehaviour):
        handler = type("Handler", (RangeHandler,), {**misbehaviour, "requests": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", handler

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections and never answers; yields its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()


def dataset_rows(data_dir: Path) -> list:
    """Every example of the data folder's current simplified dataset, comparable across builds:
    (split, key_id, category name, stroke bytes), sorted."""
    from sketchrnn_cli.data.datastore import dataset_dir

    return build_rows(dataset_dir(data_dir, "simplified"))


def build_rows(build: Path) -> list:
    """The rows of dataset_rows, from a build's flat arrays."""
    from sketchrnn_cli.data import flat
    from sketchrnn_cli.data.datastore import dataset_info

    names = dataset_info(build).labels
    return sorted(
        (split, key_id, names[label], strokes.tobytes())
        for split in ("train", "valid", "test")
        for key_id, label, strokes in flat.examples(build, split)
    )


def tfds_rows(build: Path) -> list:
    """The rows of dataset_rows, from a build's TFDS files."""
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(str(build))
    names = builder.info.features["label"].names
    return sorted(
        (split, row["key_id"].decode(), names[row["label"]], row["strokes"].tobytes())
        for split in ("train", "valid", "test")
        for row in tfds.as_numpy(builder.as_dataset(split=split))
    )


def tiny_config(epochs: int = 8, **model_overrides):
    from sketchrnn_cli.config import ModelConfig, RunConfig, TrainConfig

    return RunConfig(
        model=ModelConfig(**{**TINY_MODEL, **model_overrides}),
        train=TrainConfig(epochs=epochs, batch_size=16, learning_rate=1e-2, patience=20),
    )


@pytest.fixture(scope="session")
def shapes_data(tmp_path_factory) -> Path:
    """A data folder holding the circles / zigzags / squares dataset (60 of each)."""
    from sketchrnn_cli.data.download import DownloadRequest, download

    root = tmp_path_factory.mktemp("shapes")
    bucket = write_bucket(root / "bucket", per_shape=60)
    download(DownloadRequest(SHAPES, root / "data", source=str(bucket)))
    return root / "data"


@pytest.fixture(scope="session")
def trained_run(shapes_data, tmp_path_factory) -> Path:
    """One small model trained on the shapes; shared by the tests that only read a run."""
    from sketchrnn_cli.data.datastore import dataset_dir
    from sketchrnn_cli.model.train import train

    run_dir = tmp_path_factory.mktemp("runs") / "shapes"
    train(tiny_config(), dataset_dir(shapes_data, "simplified"), run_dir)
    return run_dir


@pytest.fixture(scope="session")
def onnx_export(trained_run, tmp_path_factory) -> Path:
    """`sketch export --format onnx` of the shared run: a folder of model.onnx, labels, config."""
    out = tmp_path_factory.mktemp("onnx") / "export"
    done = sketch("export", trained_run, "--format", "onnx", "--out", out, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


# What makes a test slow (pytest -m "not slow", make test-fast, leaves these out): a trained model,
# a `sketch` subprocess, a server, a browser, another environment, or a mounted disk.
SLOW_FIXTURES = {
    "shapes_data",
    "onnx_export",
    "trained_run",
    "run_copy",
    "draw_server",
    "browser",
    "http_mirror",
    "silent_server",
    "tiny_disk",
    "slim_sketch",
    "shared_quickdraw",
}
SLOW_MODULES = {
    "test_beam",
    "test_browser",
    "test_keras_backends",
    "test_long_runs",
    "test_multi_worker",
    "test_reliability",
    "test_slim_install",
    "test_web_export",
}


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.module.__name__ if item.module else ""
        if module in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter):
    """Records how many fuzz inputs ran (README: reliability)."""
    from test_fuzz import CASES

    if any(CASES.values()):
        terminalreporter.write_line(f"fuzz cases run: parser {CASES['parser']}, reader {CASES['reader']}")


@pytest.fixture
def draw_server(trained_run, tmp_path):
    """`sketch draw` as a user starts it, on a free port: yields (url, save_to, process)."""
    save_to = tmp_path / "my_drawings.ndjson"
    process, url = start_draw(trained_run, save_to)
    try:
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()
        yield url, save_to, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def start_draw(model: Path, save_to: Path, *args, command=SKETCH) -> tuple[subprocess.Popen, str]:
    """`sketch draw --model MODEL` on a free port (``command``: another environment's sketch):
    (the process, the address it printed first)."""
    process = subprocess.Popen(
        [*command, "draw", "--model", str(model), "--no-browser", "--port", "0", "--save-to", str(save_to), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Selenium; skips with the reason when either is missing."""
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver", reason="Selenium is not installed (pip install selenium)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("no Chromium and chromedriver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1000,900",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


def is_blank_png(png: bytes) -> bool:
    """Whether a screenshot is one flat colour (its pixel bytes take almost no distinct values)."""
    import struct
    import zlib

    position, pixels = 8, b""
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        if kind == b"IDAT":
            pixels += png[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(pixels))) < 8


def sketch_without_tensorflow(venv: Path, made_by: str = "make test") -> Path:
    """The `sketch` of an environment that must not hold TensorFlow; skips when it is missing."""
    import subprocess

    sketch = venv / "bin" / "sketch"
    if not sketch.is_file():
        pytest.skip(f"no environment at {venv} ({made_by} builds it)")
    has_tensorflow = subprocess.run([str(venv / "bin" / "python"), "-c", "import tensorflow"], capture_output=True)
    assert has_tensorflow.returncode != 0, f"{venv} has TensorFlow: the test would prove nothing"
    return sketch


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs, mounted for the test (root only); skips where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.decode().strip() or 'not root'})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def training_started(data: Path, run_dir: Path, epochs: int) -> subprocess.Popen:
    """A `sketch train` subprocess, returned once it has written its run's config.json."""
    process = subprocess.Popen(
        [*SKETCH, "train", "--data-dir", str(data), "--run-dir", str(run_dir), *TINY, "--epochs", str(epochs)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (run_dir / "config.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.02)
    return process


def download_args(data, source, categories="circle,zigzag,square", *extra):
    return ["download", "--data-dir", data, "--source", source, "--categories", categories, *extra]


def free_ports(count):
    """Ports free on 127.0.0.1 now, for processes that train in step."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports
