"""Where drawings come from: the official bucket, an http(s) mirror, or a local folder.

Every source has the bucket's layout: ``full/<format>/<category>.ndjson``.

Downloads stream into ``<name>.part`` and are renamed to ``<name>`` only once the server's
byte count is reached, so a truncated file never looks complete. A later run resumes a
``.part`` with an HTTP Range request, and never fetches a complete file again. Lines are
handed to the caller as they arrive: a caller that needs only the first N drawings stops
reading, and the rest of the file is never fetched.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

from .config import FORMATS  # noqa: F401 (the formats a source serves)
from .errors import SketchError

OFFICIAL_SOURCE = "https://storage.googleapis.com/quickdraw_dataset/"
CHUNK_BYTES = 1 << 16
TIMEOUT_SECONDS = 30

# on_progress(bytes_done, bytes_total or None), called as bytes arrive or are read
Progress = Callable[[int, "int | None"], None]


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


def open_lines(source: str, relative: str, download_dir: Path, on_progress: Progress = _ignore) -> Iterator[bytes]:
    """The lines of one file of the source, fetched (or resumed) as the caller reads them."""
    if is_remote(source):
        url = source.rstrip("/") + "/" + urllib.parse.quote(relative)
        return _remote_lines(url, Path(download_dir) / relative, on_progress)
    return _local_lines(Path(source).expanduser() / relative, on_progress)


def fetch_file(source: str, relative: str, download_dir: Path, on_progress: Progress = _ignore) -> Path:
    """A complete local copy of one file (the file itself for a local source)."""
    if not is_remote(source):
        path = Path(source).expanduser() / relative
        if not path.is_file():
            raise SourceError(f"{path}: no such file (is the category on this source?)")
        return path
    for _ in open_lines(source, relative, download_dir, on_progress):
        pass
    return Path(download_dir) / relative


def _local_lines(path: Path, on_progress: Progress) -> Iterator[bytes]:
    if not path.is_file():
        raise SourceError(f"{path}: no such file (is the category on this source?)")
    total, done = path.stat().st_size, 0
    with path.open("rb") as handle:
        for line in handle:
            done += len(line)
            on_progress(done, total)
            yield line


def _remote_lines(url: str, final: Path, on_progress: Progress) -> Iterator[bytes]:
    if final.is_file():
        yield from _local_lines(final, on_progress)
        return
    part = final.with_name(final.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    leftover = b""
    # First the bytes already on disk from an earlier, interrupted run ...
    if part.exists():
        with part.open("rb") as handle:
            for line in handle:
                if line.endswith(b"\n"):
                    yield line
                else:
                    leftover = line
    # ... then the rest from the server, appended as it arrives.
    yield from _resume(url, part, final, leftover, on_progress)


def _resume(url: str, part: Path, final: Path, leftover: bytes, on_progress: Progress) -> Iterator[bytes]:
    have = part.stat().st_size if part.exists() else 0
    response, total = _open(url, have)
    with response, part.open("ab") as out:
        if total is not None and have >= total:
            pass  # the .part already holds every byte
        else:
            for chunk in _chunks(response, have if response.status == 200 else 0):
                out.write(chunk)
                out.flush()
                have += len(chunk)
                on_progress(have, total)
                lines = (leftover + chunk).split(b"\n")
                leftover = lines.pop()
                for line in lines:
                    yield line + b"\n"
    if total is not None and have != total:
        raise SourceError(f"{url}: connection closed after {have} of {total} bytes; run again to resume")
    part.replace(final)
    if leftover:
        yield leftover


def _open(url: str, offset: int):
    """GET from ``offset``; returns (response, total size or None)."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        if error.code == 416:  # the range starts at the end: the .part is complete
            return _Empty(), offset
        hint = " (is the category on this source?)" if error.code == 404 else ""
        raise SourceError(f"{url}: HTTP {error.code} {error.reason}{hint}") from None
    except (urllib.error.URLError, socket.timeout, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SourceError(f"{url}: cannot connect ({reason})") from None
    return response, _total_size(response, offset)


def _total_size(response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status == 206 and "/" in content_range:
        size = content_range.rsplit("/", 1)[1]
        return int(size) if size.isdigit() else None
    length = response.headers.get("Content-Length")
    if length is None or not length.isdigit():
        return None
    return int(length) + (offset if response.status == 206 else 0)


def _chunks(response, skip: int) -> Iterator[bytes]:
    """Reads the body; ``skip`` drops bytes a server resent because it ignored our Range."""
    try:
        while chunk := response.read(CHUNK_BYTES):
            if skip:
                dropped = min(skip, len(chunk))
                chunk, skip = chunk[dropped:], skip - dropped
            if chunk:
                yield chunk
    except (socket.timeout, OSError, http.client.HTTPException) as error:
        raise SourceError(f"{response.url}: connection lost ({error!r}); run again to resume") from None


class _Empty:
    status = 206

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
