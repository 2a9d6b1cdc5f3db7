"""Shared fixtures: synthetic drawings in the bucket's layout, a local HTTP mirror, ../shared."""

from __future__ import annotations

import json
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

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
            json.dumps({"word": shape, "key_id": str(10**15 + index * 10**6 + i), "recognized": True,
                        "countrycode": "US", "drawing": shape_drawing(shape, rng)})
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
    """Serves a folder with HTTP Range support; ``drop_after`` bytes cuts each body short."""

    drop_after: int | None = None
    delay: float = 0.0  # seconds between 4 KiB pieces of a body: a slow server
    requests: list

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.requests.append((self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404, "Not Found")
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
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.drop_after is not None:
            body = body[: self.drop_after]
        try:
            for start in range(0, len(body), 4096 if self.delay else max(len(body), 1)):
                self.wfile.write(body[start : start + 4096] if self.delay else body)
                self.wfile.flush()
                time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            return
        if self.drop_after is not None:
            self.close_connection = True


@pytest.fixture
def http_mirror():
    """Starts a server on 127.0.0.1 for a folder: http_mirror(folder, drop_after, delay) -> (url, handler)."""
    servers = []

    def start(folder: Path, drop_after: int | None = None, delay: float = 0.0):
        handler = type("Handler", (RangeHandler,), {"drop_after": drop_after, "delay": delay, "requests": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", handler

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


TINY_MODEL = dict(conv_filters=(16, 16), conv_strides=(1, 2), rnn_units=16, image_side=12, image_filters=(8, 16),
                  image_units=16)


def tiny_config(epochs: int = 8, **model_overrides):
    from sketchrnn_cli.config import ModelConfig, RunConfig, TrainConfig

    return RunConfig(model=ModelConfig(**{**TINY_MODEL, **model_overrides}),
                     train=TrainConfig(epochs=epochs, batch_size=16, learning_rate=1e-2, patience=20))


@pytest.fixture(scope="session")
def shapes_data(tmp_path_factory) -> Path:
    """A data folder holding the circles / zigzags / squares dataset (60 of each)."""
    from sketchrnn_cli.download import DownloadRequest, download

    root = tmp_path_factory.mktemp("shapes")
    bucket = write_bucket(root / "bucket", per_shape=60)
    download(DownloadRequest(SHAPES, root / "data", source=str(bucket)))
    return root / "data"


@pytest.fixture(scope="session")
def trained_run(shapes_data, tmp_path_factory) -> Path:
    """One small model trained on the shapes; shared by the tests that only read a run."""
    from sketchrnn_cli.download import dataset_dir
    from sketchrnn_cli.train import train

    run_dir = tmp_path_factory.mktemp("runs") / "shapes"
    train(tiny_config(), dataset_dir(shapes_data, "simplified"), run_dir)
    return run_dir


def pytest_terminal_summary(terminalreporter):
    """Records how many fuzz inputs ran (README: reliability)."""
    from test_fuzz import CASES

    if any(CASES.values()):
        terminalreporter.write_line(f"fuzz cases run: parser {CASES['parser']}, reader {CASES['reader']}")
