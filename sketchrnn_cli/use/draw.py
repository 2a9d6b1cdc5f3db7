"""`sketch draw`: a page to draw on while your model guesses, as in the game.

The standard library serves it (http.server): one page and two JSON routes need no framework,
and the slim install stays slim. Guesses run in this process on LiteRT (no TensorFlow).

Safe by default: the server listens on 127.0.0.1; it answers only requests addressed to the
names it really answers on, whatever --host is (a page that rebinds its own name to 127.0.0.1
gets a 403); ``/api/save``
needs the run's token from the page in an ``X-Sketch-Token`` header, which another origin can
neither read nor send (no CORS headers are ever given); the page is a packaged resource, not
a folder on disk, so no path can reach another file.

Bounded under load: a listen backlog of REQUEST_QUEUE connections; at most MAX_CONNECTIONS
served at once (the rest wait in the backlog); a connection silent for IDLE_SECONDS, or open
for CONNECTION_SECONDS in all, is closed, so half-sent requests cannot hold threads.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import json
import math
import os
import re
import secrets
import socket
import stat
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from ..data.own_words import word_problem
from ..data.reader import json_value
from ..data.strokes import parse_drawing
from ..errors import SketchError
from ..metrics import top_k
from ..model.inference import Predictor

MAX_BODY_BYTES = 1 << 20  # a drawing of tens of thousands of points fits
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
EVERY_INTERFACE = ("", "0.0.0.0", "::")
REQUEST_QUEUE = 128  # connections the kernel holds while all are busy (Python's default is 5)
MAX_CONNECTIONS = 512  # served at once, each on its own thread
IDLE_SECONDS = 5.0  # a connection that sends nothing this long is closed
CONNECTION_SECONDS = 30.0  # and none stays open longer
UNKNOWN_COUNTRY = "ZZ"  # ISO 3166's code for "unknown"; the game stored the player's country here


class BadRequest(SketchError):
    """A request the API refuses; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


@dataclass
class Guesser:
    """Top-k guesses for one drawing; one predictor, used by one thread at a time."""

    predictor: Predictor  # a run's LiteRT model, or its Keras model where the run has no model.tflite
    labels: tuple[str, ...]
    max_length: int
    unsure_below: float = 0.0  # the run's config.model.unsure_below: a top guess under it is "not sure"

    def __post_init__(self):
        self._lock = threading.Lock()

    def guess(self, drawing, k: int = 3) -> list[tuple[str, float]]:
        try:
            sequence = parse_drawing(drawing, self.max_length)
        except ValueError as error:
            raise BadRequest(f"'drawing': {error}") from None
        with self._lock:
            probabilities = self.predictor.predict([sequence])[0]
        return [
            (self.labels[i], float(probabilities[i])) for i in top_k(probabilities[None], min(k, len(self.labels)))[0]
        ]


def raw_line(drawing: list, word: str, recognized: bool) -> bytes:
    """One drawing as a line of Quick, Draw!'s raw ndjson (key_ids as the game made them)."""
    record = {
        "key_id": str(10**15 + secrets.randbelow(9 * 10**15)),
        "word": word,
        "countrycode": UNKNOWN_COUNTRY,
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
        "recognized": recognized,
        "drawing": drawing,
    }
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def append_line(path: Path, line: bytes) -> None:
    """Appends one whole line: O_APPEND under an exclusive lock, never through a symlink, and
    only to a regular file (a FIFO would block the server)."""
    import fcntl

    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    descriptor = os.open(path, flags, 0o666)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise SketchError(f"{path}: not a regular file; drawings are saved only to files")
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        written = 0
        while written < len(line):
            written += os.write(descriptor, line[written:])
    finally:
        os.close(descriptor)


@dataclass
class DrawApp:
    """What the routes do, apart from HTTP."""

    guesser: Guesser
    save_to: Path
    model_name: str
    token: str = ""

    def __post_init__(self):
        self.token = self.token or secrets.token_hex(16)

    def page(self) -> bytes:
        save_note = f"drawings are saved to {self.save_to}"
        return page_html(self.model_name, self.guesser.labels, save_note, {"engine": "server"}, token=self.token)

    def predict(self, body: dict) -> dict:
        k = body.get("k", 3)
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(self.guesser.labels):
            raise BadRequest(f"'k' must be a whole number from 1 to {len(self.guesser.labels)}")
        guesses = self.guesser.guess(_field(body, "drawing"), k)
        return {
            "predictions": [{"label": label, "probability": round(p, 6)} for label, p in guesses],
            "unsure": guesses[0][1] < self.guesser.unsure_below,
        }

    def save(self, body: dict, token: str | None) -> dict:
        if not token or not secrets.compare_digest(token, self.token):
            raise BadRequest(
                "missing or wrong X-Sketch-Token: saving works only from the page this server sent",
                HTTPStatus.FORBIDDEN,
            )
        drawing = _field(body, "drawing")
        if not _is_raw(drawing):
            raise BadRequest("'drawing' must be raw strokes: [[x...], [y...], [t...]] per stroke")
        guesses = self.guesser.guess(drawing, 1)
        word = body.get("word") or guesses[0][0]
        if not isinstance(word, str):
            raise BadRequest("'word' must be text")
        word = word.strip()
        if problem := word_problem(word):  # what sketch download --own-categories would refuse
            raise BadRequest(f"'word': {problem}")
        try:
            append_line(self.save_to, raw_line(drawing, word, recognized=guesses[0][0] == word))
        except OSError as error:
            raise BadRequest(
                f"cannot save to {self.save_to}: {error.strerror or error}", HTTPStatus.INTERNAL_SERVER_ERROR
            ) from None
        except SketchError as error:
            raise BadRequest(str(error), HTTPStatus.INTERNAL_SERVER_ERROR) from None
        return {"saved": str(self.save_to), "word": word}


def page_html(
    model_name: str,
    labels: tuple[str, ...],
    save_note: str,
    setup: dict,
    *,
    head: str = "",
    scripts: str = "",
    token: str = "",
) -> bytes:
    """The draw page (web/draw.html) for either engine: ``setup`` (JSON the page reads) names it,
    ``head`` and ``scripts`` are the HTML the exported page adds (its policy and runtime)."""
    template = resources.files(__package__).joinpath("web/draw.html").read_text("utf-8")
    # JSON inside <script>: no "<", ">" or "&" left to end the element early, whatever a label holds
    setup_json = json.dumps(setup, ensure_ascii=False)
    for character in "<>&":
        setup_json = setup_json.replace(character, f"\\u{ord(character):04x}")
    values = {
        "__SKETCH_HEAD__": head,
        "__SKETCH_SCRIPTS__": scripts,
        "__SKETCH_SETUP__": setup_json,
        "__SKETCH_TOKEN__": token,
        "__SKETCH_MODEL__": html.escape(model_name),
        "__SKETCH_COUNT__": str(len(labels)),
        "__SKETCH_LABELS__": html.escape(", ".join(labels)),
        "__SKETCH_SAVE_NOTE__": html.escape(save_note),
    }
    # one pass: a label that reads like a placeholder stays as it is
    return re.sub(r"__SKETCH_[A-Z]+(?:_[A-Z]+)*__", lambda found: values[found.group(0)], template).encode("utf-8")


def _field(body: dict, name: str):
    if name not in body:
        raise BadRequest(f"the body has no {name!r} field")
    return body[name]


def _is_raw(drawing) -> bool:
    """Three lists per stroke, the times finite numbers (parse_drawing checks x and y): every
    number saved is one that strict JSON readers take."""
    return isinstance(drawing, list) and all(
        isinstance(s, list)
        and len(s) == 3
        and isinstance(s[2], list)
        and all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in s[2])
        for s in drawing
    )


class Handler(BaseHTTPRequestHandler):
    server_version = "sketch-draw"
    timeout = IDLE_SECONDS  # on the socket: a read that waits longer ends the connection
    app: DrawApp  # set on the subclass that make_server makes
    allowed_hosts: frozenset[str]  # the Host headers answered: the names the server answers on

    def log_message(self, *args):  # the terminal shows the URL and errors, not every request
        pass

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (414, 501, ...) as JSON with the page's headers, like ours."""
        self.close_connection = True
        self._error(BadRequest(message or HTTPStatus(code).phrase, HTTPStatus(code)))

    def do_GET(self):
        if not self._host_allowed():
            return
        if self.path.split("?")[0] in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.app.page(), "text/html; charset=utf-8")
        else:
            self._error(BadRequest(f"no such page: {self.path[:200]}", HTTPStatus.NOT_FOUND))

    def do_POST(self):
        if not self._host_allowed():
            return
        routes = {
            "/api/predict": lambda body: self.app.predict(body),
            "/api/save": lambda body: self.app.save(body, self.headers.get("X-Sketch-Token")),
        }
        try:
            route = routes.get(self.path)
            if route is None:
                raise BadRequest(f"no such route: POST {self.path[:200]}", HTTPStatus.NOT_FOUND)
            answer = route(self._json_body())
        except BadRequest as error:
            self._error(error)
        else:
            self._send(HTTPStatus.OK, json.dumps(answer).encode("utf-8"), "application/json")

    def _json_body(self) -> dict:
        if self.headers.get_content_type() != "application/json":
            raise BadRequest(
                "the body must be JSON (Content-Type: application/json)", HTTPStatus.UNSUPPORTED_MEDIA_TYPE
            )
        try:
            size = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise BadRequest("the request needs a Content-Length", HTTPStatus.LENGTH_REQUIRED) from None
        if size > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body must not be taken for the next request
            raise BadRequest(
                f"the body is {size:,} bytes; at most {MAX_BODY_BYTES:,}", HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            )
        try:
            body = json_value(self.rfile.read(max(size, 0)), "the body")
        except ValueError as error:
            raise BadRequest(f"the body: {error}" if str(error).startswith("bad") else str(error)) from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        return body

    def _host_allowed(self) -> bool:
        if self.headers.get("Host", "").lower() in self.allowed_hosts:
            return True
        self._error(BadRequest("this server answers only to the address it printed", HTTPStatus.FORBIDDEN))
        return False

    def _error(self, error: BadRequest) -> None:
        self._send(error.status, json.dumps({"error": str(error)}).encode("utf-8"), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
        )
        self.end_headers()
        self.wfile.write(body)


class DrawServer(ThreadingHTTPServer):
    """A thread per connection, at most MAX_CONNECTIONS at once, none open past its deadline."""

    daemon_threads = True
    request_queue_size = REQUEST_QUEUE

    def __init__(self, address, handler, family: int = socket.AF_INET):
        self.address_family = family
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._deadlines: dict[socket.socket, float] = {}
        self._deadlines_lock = threading.Lock()
        self._closed = threading.Event()
        super().__init__(address, handler)
        threading.Thread(target=self._close_overdue, daemon=True).start()

    def process_request(self, request, client_address):
        self._slots.acquire()  # when all are busy, new connections wait in the backlog
        with self._deadlines_lock:
            self._deadlines[request] = time.monotonic() + CONNECTION_SECONDS
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request) -> None:
        with self._deadlines_lock:
            if self._deadlines.pop(request, None) is not None:
                self._slots.release()

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def _close_overdue(self) -> None:
        """Once a second: a connection past its deadline is shut, which ends its thread's read."""
        while not self._closed.wait(1.0):
            now = time.monotonic()
            with self._deadlines_lock:
                overdue = [request for request, deadline in self._deadlines.items() if deadline < now]
            for request in overdue:
                with contextlib.suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)


def make_server(app: DrawApp, host: str, port: int) -> DrawServer:
    """A server bound to host:port (port 0: a free one), not yet serving."""
    host = "0.0.0.0" if host == "" else host
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        server = DrawServer((host, port), Handler, family)
    except OSError as error:
        hint = "; choose another with --port (0 picks a free one)" if port else ""
        raise SketchError(f"cannot listen on {host}:{port} ({error.strerror or error}){hint}") from None
    allowed = frozenset(f"{name}:{server.server_address[1]}".lower() for name in _names_of(host))
    server.RequestHandlerClass = type("DrawHandler", (Handler,), {"app": app, "allowed_hosts": allowed})
    return server


def _names_of(host: str) -> set[str]:
    """The names and addresses a browser can reach a server listening on ``host`` by, as they
    appear in a Host header (IPv6 in brackets)."""
    names = {host}
    if host in LOOPBACK_HOSTS or host in EVERY_INTERFACE:
        names |= set(LOOPBACK_HOSTS)
    if host in EVERY_INTERFACE:
        names |= {socket.gethostname(), socket.getfqdn()}
        with contextlib.suppress(OSError):
            names |= {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    return {f"[{name}]" if ":" in name else name for name in names if name not in EVERY_INTERFACE}


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS


def url_of(server: ThreadingHTTPServer, host: str) -> str:
    """The address to open: the host it listens on, or this machine's name for every interface."""
    shown = socket.gethostname() if host in EVERY_INTERFACE else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{server.server_address[1]}/"


def open_app(run_dir: Path, save_to: Path) -> DrawApp:
    """The app for a run's model: LiteRT where the run has model.tflite, else its Keras model
    (on JAX where TensorFlow is not installed), compiled for every length before the first guess."""
    from ..model.inference import open_predictor

    config, predictor = open_predictor(run_dir, "auto")
    if hasattr(predictor, "warm_up"):
        predictor.warm_up()
    guesser = Guesser(predictor, config.data.labels, config.data.max_length, config.model.unsure_below)
    return DrawApp(guesser, save_to, Path(run_dir).name)


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer):
    """Serves on a thread (for tests and benchmarks); shuts down on leaving."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
