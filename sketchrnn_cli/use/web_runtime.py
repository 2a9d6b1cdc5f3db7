"""onnxruntime-web, the runtime of the exported draw page: one pinned version, fetched once from
the npm registry, checked against its published integrity hash, kept in a cache.

Fetched, not kept in the package: the page needs 15 MB of it (the WebAssembly build), which
would treble the slim install for the few who export a site; the cache holds only those three
files (the 35 MB tarball is read as it arrives and not kept). Without the internet, put the
tarball (`npm pack onnxruntime-web@VERSION`, made anywhere) in the cache folder; an intranet's
npm mirror serves it too (npm_config_registry, as npm itself reads it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import SketchError

VERSION = "1.31.1"
PACKAGE = f"onnxruntime-web-{VERSION}.tgz"
# What the registry publishes for the tarball (`npm view onnxruntime-web@1.31.1 dist.integrity`).
TARBALL_INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
# The files the page loads, from that tarball's dist/, with their hashes (checked on every export;
# the page's <script integrity> uses the first).
FILES = {
    "ort.wasm.min.js": "sha384-tNxIwEqSlcdvKtUte98AsccPbDKM958LBXB/+3BLS42TTihXHKTWgdqPqXI/lot8",
    "ort-wasm-simd-threaded.mjs": "sha384-L9olMNCg9w3FaNhr+m7EAeeiUpM5zy2Nlh6APnoogtFXjsL4ZZZRXlYhSVJc1r3j",
    "ort-wasm-simd-threaded.wasm": "sha384-bQJgW/bZhNOlc9KU45Zu0dyd0EFfNpkOZjfHyH/90dkZQSBBGkFTsAJaabSyYA4Z",
}
SCRIPT = "ort.wasm.min.js"
REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 100 << 20  # the tarball is 35 MB; a server sending more is not the registry
TIMEOUT_SECONDS = 60


def default_cache() -> Path:
    """$SKETCH_CACHE, else the XDG cache folder's sketchrnn_cli."""
    if folder := os.environ.get("SKETCH_CACHE"):
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sketchrnn_cli"


def registry() -> str:
    return (os.environ.get("npm_config_registry") or REGISTRY).rstrip("/")


def fetched(cache: Path) -> bool:
    """Whether the cache holds the runtime's files (not yet checked: runtime_files does that)."""
    return all((_folder(cache) / name).is_file() for name in FILES)


def cached(cache: Path) -> dict[str, bytes] | None:
    """The runtime's files (name: content) when the cache holds all of them intact, else None."""
    contents = {name: path.read_bytes() for name in FILES if (path := _folder(cache) / name).is_file()}
    intact = len(contents) == len(FILES) and all(
        _integrity(contents[n], d.split("-")[0]) == d for n, d in FILES.items()
    )
    return contents if intact else None


def runtime_files(cache: Path) -> dict[str, bytes]:
    """The runtime's checked files (name: content), fetched (or read from a tarball put in
    ``cache``) the first time. SketchError says what failed and how to do without a network."""
    if contents := cached(cache):
        return contents
    tarball = cache / PACKAGE
    if tarball.is_file():
        source, data = str(tarball), _read_tarball(tarball)
    else:
        source = f"{registry()}/onnxruntime-web/-/{PACKAGE}"
        data = _fetch(source, cache)
    if _integrity(data, "sha512") != TARBALL_INTEGRITY:
        raise SketchError(f"{source}: not onnxruntime-web {VERSION} as npm published it (its sha512 differs)")
    return _unpack(data, _folder(cache))


def _folder(cache: Path) -> Path:
    return cache / f"onnxruntime-web-{VERSION}"


def _fetch(url: str, cache: Path) -> bytes:
    hint = f"without internet, run `npm pack onnxruntime-web@{VERSION}` elsewhere and put {PACKAGE} in {cache}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            data = response.read(MAX_TARBALL_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise SketchError(f"cannot fetch {url} (HTTP {error.code}); {hint}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise SketchError(f"cannot fetch {url} ({reason}); {hint}") from None
    if len(data) > MAX_TARBALL_BYTES:
        raise SketchError(f"{url}: sends more than {MAX_TARBALL_BYTES >> 20} MB; not the onnxruntime-web tarball")
    return data


def _read_tarball(path: Path) -> bytes:
    if path.stat().st_size > MAX_TARBALL_BYTES:
        raise SketchError(f"{path}: over {MAX_TARBALL_BYTES >> 20} MB; not the onnxruntime-web tarball")
    return path.read_bytes()


def _unpack(data: bytes, folder: Path) -> dict[str, bytes]:
    """The checked files out of the tarball, kept in ``folder`` whole or not at all."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=folder.parent))
    contents = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for name, digest in FILES.items():
                member = archive.extractfile(f"package/dist/{name}")
                contents[name] = member.read() if member else b""
                if _integrity(contents[name], "sha384") != digest:
                    raise SketchError(f"onnxruntime-web {VERSION}: dist/{name} is not the file expected")
                (fresh / name).write_bytes(contents[name])
        _move_into_place(fresh, folder)
    except (tarfile.TarError, KeyError) as error:
        raise SketchError(f"onnxruntime-web {VERSION}: cannot read its tarball ({error})") from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return contents


def _move_into_place(fresh: Path, folder: Path) -> None:
    """Renames ``fresh`` to ``folder`` unless another process put an intact copy there first
    (two exports at once); a damaged copy is replaced."""
    if cached(folder.parent):
        return
    shutil.rmtree(folder, ignore_errors=True)
    try:
        fresh.rename(folder)
    except OSError:
        if not cached(folder.parent):
            raise


def _integrity(data: bytes, algorithm: str) -> str:
    """Subresource Integrity form, as npm and browsers write it: ALGORITHM-base64(digest)."""
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"
