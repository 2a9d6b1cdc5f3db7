"""Where drawings come from: the official bucket, an http(s) mirror, or a local folder.

Every source has the bucket's layout: ``full/<format>/<category>.ndjson``.

Downloads stream into ``<name>.part`` and are renamed to ``<name>`` only once checked: the
server's byte count reached, its MD5 matched (when it sends one, as Google Cloud Storage does),
the first line a drawing, the last line whole. A dropped connection, a timeout, a stalled
transfer or HTTP 5xx/429 is retried with a Range request and backoff; a later run resumes a
``.part`` the same way, and never fetches a complete file again. Lines are
handed to the caller as they arrive: a caller that needs only the first N drawings stops
reading, and the rest of the file is never fetched.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import SketchError
from .reader import MAX_LINE_BYTES, lines_of

OFFICIAL_SOURCE = "https://storage.googleapis.com/quickdraw_dataset/"
CHUNK_BYTES = 1 << 16
MIN_BYTES_PER_WINDOW = 1024  # less than this in a timeout's span is a stalled transfer


@dataclass(frozen=True)
class Network:
    """How hard to try: seconds without an answer (or with less than MIN_BYTES_PER_WINDOW),
    retries of a transient failure, and the first pause between them (doubling each time)."""

    timeout: float = 30.0
    retries: int = 5
    backoff: float = 1.0


# on_progress(bytes_done, bytes_total or None), called as bytes arrive or are read
OnBytes = Callable[[int, "int | None"], None]


class SourceError(SketchError):
    """A source could not deliver a file; the message names the URL or path."""


def _ignore(done: int, total: int | None) -> None:
    pass


def relative_path(format: str, category: str) -> str:
    return f"full/{format}/{category}.ndjson"


def is_remote(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def relative_npz_path(category: str) -> str:
    return f"sketchrnn/{category}.npz"


def open_lines(
    source: str, relative: str, download_dir: Path, on_progress: OnBytes = _ignore, network: Network = Network()
) -> Iterator[bytes]:
    """The lines of one file of the source, fetched (or resumed) as the caller reads them."""
    if is_remote(source):
        url = source.rstrip("/") + "/" + urllib.parse.quote(relative)
        return _remote_lines(url, Path(download_dir) / relative, on_progress, network)
    return _local_lines(Path(source).expanduser() / relative, on_progress)


def file_size(source: str, relative: str, network: Network = Network()) -> int | None:
    """The size of one file of the source (a HEAD request for a remote one), None if unknown."""
    if not is_remote(source):
        path = Path(source).expanduser() / relative
        return path.stat().st_size if path.is_file() else None
    url = source.rstrip("/") + "/" + urllib.parse.quote(relative)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=network.timeout) as response:
            length = response.headers.get("Content-Length")
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return None
    return int(length) if length and length.isascii() and length.isdigit() else None


def fetch_file(
    source: str, relative: str, download_dir: Path, on_progress: OnBytes = _ignore, network: Network = Network()
) -> Path:
    """A complete local copy of one file (the file itself for a local source)."""
    if not is_remote(source):
        path = Path(source).expanduser() / relative
        if not path.is_file():
            raise SourceError(f"{path}: no such file (is the category on this source?)")
        return path
    for _ in open_lines(source, relative, download_dir, on_progress, network):
        pass
    return Path(download_dir) / relative


def _local_lines(path: Path, on_progress: OnBytes) -> Iterator[bytes]:
    if not path.is_file():
        raise SourceError(f"{path}: no such file (is the category on this source?)")
    total, done = path.stat().st_size, 0
    with path.open("rb") as handle:
        for line in lines_of(handle):
            done += len(line)
            on_progress(done, total)
            yield line


def _remote_lines(url: str, final: Path, on_progress: OnBytes, policy: Network) -> Iterator[bytes]:
    if final.is_file():
        yield from _local_lines(final, on_progress)
        return
    yield from _Download(url, final, on_progress, policy).lines()


class _Transient(Exception):
    """A failure worth another try: a dropped connection, a timeout, HTTP 5xx or 429."""


class _Download:
    """One file fetched into ``<name>.part``: resumed with Range requests, retried with backoff,
    checked (not a web page, a drawing on its first line, the announced size, the server's MD5,
    a final newline), and renamed to ``<name>`` only when every check passed."""

    def __init__(self, url: str, final: Path, on_progress: OnBytes, policy: Network):
        self.url, self.final, self.on_progress, self.policy = url, final, on_progress, policy
        self.part = final.with_name(final.name + ".part")
        self.have = 0  # bytes in .part
        self.total: int | None = None  # the file's size, when the server says it
        self.md5_expected: str | None = None  # base64, from x-goog-hash
        self.md5 = hashlib.md5()
        self.leftover = b""  # the start of a line not yet complete
        self.first_line_checked = False
        self.resent = 0  # bytes the server sends again that we must skip

    def lines(self) -> Iterator[bytes]:
        self.part.parent.mkdir(parents=True, exist_ok=True)
        yield from self._lines_on_disk()
        failures = 0
        while True:
            try:
                yield from self._lines_from_server()
                break
            except _Transient as error:
                failures += 1
                if failures > self.policy.retries:
                    raise SourceError(
                        f"{self.url}: {error}; gave up after {self.policy.retries} retries "
                        f"({self.have:,} bytes kept: run again to resume)"
                    ) from None
                time.sleep(min(self.policy.backoff * 2 ** (failures - 1), 30.0))
        self._verify()
        os.replace(self.part, self.final)

    def _lines_on_disk(self) -> Iterator[bytes]:
        """The complete lines an earlier, interrupted run already saved."""
        if not self.part.is_file():
            return
        with self.part.open("rb") as handle:
            for line in handle:
                self.have += len(line)
                self.md5.update(line)
                if line.endswith(b"\n"):
                    yield self._checked(line)
                else:
                    self.leftover = line

    def _lines_from_server(self) -> Iterator[bytes]:
        response = self._open()
        with response, _appending(self.part) as out:
            if self.total is not None and self.have >= self.total:
                return
            for chunk in self._chunks(response):
                out.write(chunk)
                out.flush()
                self.have += len(chunk)
                self.md5.update(chunk)
                self.on_progress(self.have, self.total)
                *complete, self.leftover = (self.leftover + chunk).split(b"\n")
                if len(self.leftover) > MAX_LINE_BYTES:
                    raise SourceError(f"{self.url}: a line longer than {MAX_LINE_BYTES:,} bytes; not ndjson")
                for line in complete:
                    yield self._checked(line + b"\n")
        if self.total is not None and self.have < self.total:
            raise _Transient(f"connection closed after {self.have:,} of {self.total:,} bytes")

    def _checked(self, line: bytes) -> bytes:
        """The first line must be a drawing: a captive portal's page or an error text is not."""
        if not self.first_line_checked and self.final.suffix == ".ndjson":
            from .reader import parse_line

            try:
                parse_line(line.removeprefix(b"\xef\xbb\xbf"), self.url, 1)
            except ValueError as error:
                self._reject(f"is not Quick, Draw! ndjson (its first line: {error})")
            self.first_line_checked = True
        return line

    def _verify(self) -> None:
        if self.total is not None and self.have != self.total:
            self._reject(f"has {self.have:,} bytes, but the server announced {self.total:,}")
        if self.md5_expected is not None and base64.b64encode(self.md5.digest()).decode() != self.md5_expected:
            self._reject("does not match the MD5 checksum the server sent")
        if self.final.suffix == ".ndjson" and self.have and self.leftover:
            self._reject("ends in the middle of a line (cut short)")

    def _reject(self, problem: str):
        self.part.unlink(missing_ok=True)
        raise SourceError(f"{self.url}: the download {problem}; it was deleted, run again to fetch it anew")

    def _open(self):
        """GET from ``self.have``; reads the size and checksum the server announces."""
        request = urllib.request.Request(self.url, headers={"Range": f"bytes={self.have}-"} if self.have else {})
        try:
            response = urllib.request.urlopen(request, timeout=self.policy.timeout)
        except urllib.error.HTTPError as error:
            if error.code == 416:  # the range starts at the end: the .part is complete
                self.total = self.total if self.total is not None else self.have
                return _Empty()
            if error.code == 429 or error.code >= 500:
                raise _Transient(f"HTTP {error.code} {error.reason}") from None
            hint = " (is the category on this source?)" if error.code == 404 else ""
            raise SourceError(f"{self.url}: HTTP {error.code} {error.reason}{hint}") from None
        except TimeoutError:
            raise _Transient(f"no answer within {self.policy.timeout:g} s") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise _Transient(f"no answer within {self.policy.timeout:g} s") from None
            if self.have or isinstance(reason, ConnectionResetError):
                raise _Transient(f"connection lost ({reason})") from None
            raise SourceError(f"{self.url}: cannot connect ({reason})") from None
        if "html" in response.headers.get("Content-Type", "").lower():
            response.close()
            self._reject(f"is a web page ({response.headers['Content-Type']}), not data")
        self.total = _total_size(response, self.have)
        self.md5_expected = _md5_header(response) or self.md5_expected
        self.resent = self.have if response.status == 200 else 0  # a server that ignored our Range
        return response

    def _chunks(self, response) -> Iterator[bytes]:
        """The body, chunk by chunk; a body that trickles (less than MIN_BYTES_PER_WINDOW in a
        timeout's span) is a stalled transfer, even if each read returns in time."""
        window_start, window_bytes = time.monotonic(), 0
        read = getattr(response, "read1", response.read)  # read1: what has arrived, without waiting for more
        try:
            while chunk := read(CHUNK_BYTES):
                window_bytes += len(chunk)
                if self.resent:  # bytes we already have, sent again from the start
                    dropped = min(self.resent, len(chunk))
                    chunk, self.resent = chunk[dropped:], self.resent - dropped
                if chunk:
                    yield chunk
                if time.monotonic() - window_start >= self.policy.timeout:
                    if window_bytes < MIN_BYTES_PER_WINDOW:
                        raise _Transient(f"stalled ({window_bytes} bytes in {self.policy.timeout:g} s)")
                    window_start, window_bytes = time.monotonic(), 0
        except TimeoutError:
            raise _Transient(f"no data for {self.policy.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as error:
            raise _Transient(f"connection lost ({error!r})") from None


@contextmanager
def _appending(path: Path):
    """Appends to ``path``, never through a symbolic link planted in its place."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(descriptor, "ab") as handle:
        yield handle


def _total_size(response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status == 206 and "/" in content_range:
        size = content_range.rsplit("/", 1)[1]
        return int(size) if size.isascii() and size.isdigit() else None
    length = response.headers.get("Content-Length")
    if length is None or not (length.isascii() and length.isdigit()):
        return None
    return int(length) + (offset if response.status == 206 else 0)


def _md5_header(response) -> str | None:
    """The whole file's MD5 from Google Cloud Storage's ``x-goog-hash: crc32c=...,md5=...``."""
    for header in response.headers.get_all("x-goog-hash") or []:
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name == "md5" and value:
                return value
    return None


class _Empty:
    status = 206
    headers: dict = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size: int = -1) -> bytes:
        return b""
