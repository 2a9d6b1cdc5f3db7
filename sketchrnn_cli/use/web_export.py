"""`sketch export --format web`: the draw page as a static site that guesses in the browser.

The folder holds the page `sketch draw` serves (the same web/draw.html, told to use its
in-browser engine), the run's model.onnx (temperature inside), its config and labels, the
page's two scripts and onnxruntime-web (web_runtime.py). It fetches nothing from another host:
its Content-Security-Policy lets the browser load only the site's own files.

Nothing a user made is replaced: config, labels and model files must be this run's
(model_io.check_export_folder), and the page, scripts and runtime files must be ones an export
wrote and nobody changed since (sketch-site.json lists their hashes) or exactly what this export
writes.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from ..artifacts import RunFiles, atomic_write, read_config, write_config
from ..config import RunConfig
from ..data.own_words import MAX_WORD_BYTES, MAX_WORD_CHARS
from ..errors import SketchError, writing
from . import web_runtime
from .draw import UNKNOWN_COUNTRY, page_html

PAGE = "index.html"
SCRIPTS = ("strokes.js", "in_browser.js")  # from use/web/, beside the page
RUNTIME = "ort"  # the folder of onnxruntime-web's files
MANIFEST = "sketch-site.json"
SAVE_NAME = "drawings.ndjson"
# The page may load only its own files (scripts, the runtime's module and WebAssembly, the model).
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data:; object-src 'none'; base-uri 'none'"
)


def export_site(files: RunFiles, out: Path, cache: Path) -> Path:
    """Writes the site into ``out``; returns its page. Checks the folder and fetches the runtime
    (once, into ``cache``) before loading the model, so a refusal costs nothing."""
    from ..model.model_io import check_export_folder, load_trained_model, write_onnx

    config = read_config(files)
    check_export_folder(config, files.root, out)
    ours = site_files(config, files.root.name)
    _check_site_folder(out, ours)  # before the runtime is fetched: a refusal needs no network
    runtime = {f"{RUNTIME}/{name}": content for name, content in web_runtime.runtime_files(cache).items()}
    _check_site_folder(out, runtime)
    ours.update(runtime)
    config, model = load_trained_model(files)
    out.mkdir(parents=True, exist_ok=True)
    with writing(out / "model.onnx"):
        write_onnx(model, out / "model.onnx", config)
    write_config(RunFiles(out), config)
    for name, content in ours.items():
        _write_bytes(out / name, content)
    manifest = {"written_by": "sketchrnn_cli", "sha256": {name: _sha256(content) for name, content in ours.items()}}
    atomic_write(out / MANIFEST, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1) + "\n"))
    return out / PAGE


def site_files(config: RunConfig, model_name: str) -> dict[str, bytes]:
    """The page, for the in-browser engine with what it needs of the run's config, and its scripts."""
    setup = {
        "engine": "browser",
        "model": "model.onnx",
        "runtime": f"{RUNTIME}/",
        "labels": list(config.data.labels),
        "maxLength": config.data.max_length,
        "unsureBelow": config.model.unsure_below,
        "word": {"maxChars": MAX_WORD_CHARS, "maxBytes": MAX_WORD_BYTES},
        "unknownCountry": UNKNOWN_COUNTRY,
        "saveName": SAVE_NAME,
    }
    head = f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
    runtime = f"{RUNTIME}/{web_runtime.SCRIPT}"
    scripts = f'<script src="{runtime}" integrity="{web_runtime.FILES[web_runtime.SCRIPT]}"></script>\n' + "".join(
        f'<script src="{name}"></script>\n' for name in SCRIPTS
    )
    save_note = f"saved drawings stay in this browser until you download them ({SAVE_NAME})"
    page = page_html(model_name, config.data.labels, save_note, setup, head=head, scripts=scripts)
    web = resources.files(__package__).joinpath("web")
    return {PAGE: page, **{name: web.joinpath(name).read_bytes() for name in SCRIPTS}}


def _check_site_folder(out: Path, ours: dict[str, bytes]) -> None:
    """SketchError unless each file the site would replace is one an export wrote, unchanged
    since, or already exactly what it would write."""
    advice = "choose a new or empty --out folder, or remove it"
    written = _manifest(out / MANIFEST, advice)
    if (out / RUNTIME).is_symlink() or ((out / RUNTIME).exists() and not (out / RUNTIME).is_dir()):
        raise SketchError(f"{out} holds an {RUNTIME} that is not a folder, where the site's runtime goes; {advice}")
    for name, content in ours.items():
        path = out / name
        if not (path.exists() or path.is_symlink()):
            continue
        if not path.is_file() or path.is_symlink():
            raise SketchError(f"{out} holds a {name} that is not a plain file; {advice}")
        found = _sha256(path.read_bytes())
        if found not in (written.get(name), _sha256(content)):
            raise SketchError(f"{out} holds a {name} that sketch did not write, or that was changed since; {advice}")


def _manifest(path: Path, advice: str) -> dict[str, str]:
    if not (path.exists() or path.is_symlink()):
        return {}
    try:
        manifest = json.loads(path.read_text())
        hashes = manifest["sha256"] if manifest.get("written_by") == "sketchrnn_cli" else None
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError):
        hashes = None
    if not isinstance(hashes, dict):
        raise SketchError(f"{path.parent} holds a {path.name} that sketch did not write; {advice}")
    return hashes


def _write_bytes(path: Path, content: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(content))


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
