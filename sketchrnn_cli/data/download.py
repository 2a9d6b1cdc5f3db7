"""The `sketch download` workflow: source files -> converted shards (convert.py) -> a dataset build
of flat arrays (flat.py), with TFDS files beside them when asked for (builder.py, locally or on Beam).

UI-agnostic: progress goes through callbacks, problems come back in the summary or as
SourceError / ValueError with a one-line message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts import atomic_write_text
from ..config import FORMATS
from ..errors import SketchError, writing
from . import convert, datastore, disk, flat, sources
from .collect import CollectOptions
from .convert import Converted
from .datastore import METADATA
from .own_words import Regrouped


@dataclass(frozen=True)
class BeamSettings:
    runner: str  # DirectRunner, FlinkRunner, SparkRunner, DataflowRunner, PortableRunner ...
    options: tuple[str, ...] = ()  # pipeline options as on Beam's command line: "--direct_num_workers=2"


@dataclass(frozen=True)
class DownloadRequest:
    categories: tuple[str, ...]
    data_dir: Path
    format: str = "simplified"
    source: str = sources.OFFICIAL_SOURCE
    options: CollectOptions = field(default_factory=CollectOptions)
    network: sources.Network = field(default_factory=sources.Network)
    workers: int = 1  # categories converted at once, each in its own process when more than 1
    keep_downloads: bool = True  # False: each fetched file is deleted once converted
    tfds: bool = False  # also write TFDS files (tfds.builder_from_directory reads them)
    beam: BeamSettings | None = None  # convert and write the TFDS files with Apache Beam instead
    own_drawings: Path | None = None  # your own ndjson/CSV file or folder: its words are the categories


@dataclass(frozen=True)
class DownloadSummary:
    dataset_dir: Path
    converted: Converted  # the dataset's categories, counts and skipped lines
    own: Regrouped | None = None  # what --own-categories read


def download(
    request: DownloadRequest,
    on_done: convert.OnDone = lambda c, d, n, k: None,
    on_file: convert.OnFile = lambda c, d, t: None,
    on_plan: Callable[[disk.DiskPlan], None] = lambda plan: None,
) -> DownloadSummary:
    """Converts the categories not converted yet (in parallel), then builds and publishes the
    dataset of every category converted with these settings, your own drawings joined to
    theirs (own_words.py)."""
    if request.format not in FORMATS:
        raise SketchError(f"unknown format {request.format!r}; choose one of {', '.join(FORMATS)}")
    with datastore.downloading(request.data_dir):  # nothing is written before it is held
        own = _regroup(request) if request.own_drawings is not None else None
        names = own.words if own else request.categories
        folder = convert.setting_folder(request.data_dir, request.format, request.options)
        jobs = [] if own else [_job(request, category, request.source, folder) for category in names]
        yours = str(datastore.own_words_dir(request.data_dir))
        others = convert.converted_before(folder, exclude=[job.category for job in jobs], not_from=yours)
        own_words = own_words_of(request)
        categories = list(dict.fromkeys([*names, *sorted(others), *own_words]))
        todo = [job for job in jobs if convert.reusable(job) is None]
        room = disk.plan(
            todo, others, request.data_dir, request.keep_downloads, tfds=request.tfds or request.beam is not None
        )
        on_plan(room)
        disk.check(room, request.data_dir)  # before anything is fetched or written
        if own_words and request.beam is not None:
            raise SketchError(
                f"{yours} holds your own drawings, which --beam-runner does not convert; download without --beam-runner"
            )
        ready = {name: manifest for name, manifest in others.items() if name not in own_words}
        converted = convert.Converted(categories, ready, folder, request.options.max_length)
        staging = datastore.new_staging(request.data_dir, request.format)
        try:
            with writing(Path(request.data_dir)):
                arriving = _arriving(request, jobs, others, own_words, folder, on_done, on_file)
                built = _build(request, jobs, converted, arriving, staging)
            return DownloadSummary(datastore.publish(staging, built), converted, own)
        finally:
            datastore.discard(staging)  # gone after publish anyway; after a failure, the old build stays


def own_words_of(request: DownloadRequest) -> list[str]:
    """Every word of your own drawings in the data folder, in this format."""
    from .own_words import stored_words

    return stored_words(datastore.own_words_dir(request.data_dir), request.format)


def _regroup(request: DownloadRequest) -> Regrouped:
    """Your drawings added to the data folder's, once the disk is known to hold them."""
    from .own_words import input_bytes, regroup

    assert request.own_drawings is not None
    own = datastore.own_words_dir(request.data_dir)
    needed = input_bytes(request.own_drawings) * (1 + disk.CONVERTED_PER_SOURCE_BYTE + disk.FLAT_PER_SOURCE_BYTE)
    disk.check(disk.DiskPlan(0, int(needed), disk.free_bytes(request.data_dir), 0), request.data_dir)
    with writing(own):
        return regroup(request.own_drawings, own, request.format, request.options.max_length)


def _job(
    request: DownloadRequest,
    category: str,
    source: str,
    out: Path,
    official: dict | None = None,
    official_folder: Path | None = None,
) -> convert.Job:
    known = tuple(official_folder / chunk for chunk in official["chunks"]) if official else ()
    return convert.Job(
        category,
        source,
        request.format,
        datastore.downloads_dir(request.data_dir),
        out,
        request.options,
        request.network,
        keep_downloads=request.keep_downloads,
        known_chunks=known,
        joins=convert.manifest_digest(official) if official else None,
    )


def _arriving(
    request: DownloadRequest,
    jobs: list[convert.Job],
    others: dict[str, dict],
    own_words: list[str],
    folder: Path,
    on_done: convert.OnDone,
    on_file: convert.OnFile,
) -> Iterator[tuple[str, dict]]:
    """(category, manifest) as each is converted: the official categories first, then your
    own drawings of each word, joined to its official conversion (deduplicated by key_id)."""
    official = dict(others)
    count = len(jobs) + len(own_words)
    for name, manifest in convert.converting(jobs, request.workers, on_done, on_file, total=count):
        official[name] = manifest
        if name not in own_words:
            yield name, manifest
    mine = [
        _job(
            request,
            word,
            str(datastore.own_words_dir(request.data_dir)),
            folder / OWN_FOLDER,
            official.get(word),
            folder,
        )
        for word in own_words
    ]
    for name, manifest in convert.converting(mine, request.workers, on_done, on_file, start=len(jobs), total=count):
        yield name, joined(official.get(name), manifest)


OWN_FOLDER = "own"  # your drawings' conversions, beside the official ones of the same setting


def joined(official: dict | None, own: dict) -> dict:
    """One category's manifest for the build: the official chunks, then your drawings'."""
    parts = [official, own] if official else [own]
    return {
        "category": own["category"],
        "counts": {split: sum(part["counts"][split] for part in parts) for split in own["counts"]},
        "chunks": [*(official["chunks"] if official else ()), *(f"{OWN_FOLDER}/{c}" for c in own["chunks"])],
        "skipped": sum(part["skipped"] for part in parts),
        "skipped_examples": [line for part in parts for line in part["skipped_examples"]],
        "unrecognized": sum(part["unrecognized"] for part in parts),
        "official": sum(official["counts"].values()) if official else 0,
        "yours": sum(own["counts"].values()),
        "already_there": own["already_there"],
    }


def _build(
    request: DownloadRequest,
    jobs: list[convert.Job],
    converted: Converted,
    arriving: Iterator[tuple[str, dict]],
    staging: Path,
) -> Path:
    """Converts what is not converted yet and writes the build into ``staging``; returns its folder."""
    if request.beam is not None:
        built = _write_on_beam(request, jobs, converted, staging)
    else:
        converted.arriving = arriving
        if request.tfds:
            from .builder import write_dataset  # imports TensorFlow (the workers never do)

            if request.workers <= 1:  # one core: convert first, so a bad category stops before TensorFlow starts
                converted.wait()
                _check_every_category_has_drawings(converted)
            built = write_dataset(converted, request.format, staging)  # while the workers convert
        else:
            converted.wait()
            built = staging / "build"
    _check_every_category_has_drawings(converted)
    flat.write(converted, built)
    atomic_write_text(built / METADATA, json.dumps({**converted.metadata(), "format": request.format}) + "\n")
    return built


def _write_on_beam(request: DownloadRequest, jobs: list[convert.Job], converted: Converted, staging: Path) -> Path:
    from .builder import write_dataset_on_beam

    beam = request.beam
    assert beam is not None
    try:
        built = write_dataset_on_beam(converted, jobs, request.format, staging, beam.runner, beam.options)
    except ImportError as error:
        raise SketchError(f"--beam-runner needs Apache Beam ({error}); pip install 'sketchrnn-cli[beam]'") from None
    except SketchError:
        raise
    except Exception as error:  # the runner's own wrapping of a worker's error: its last line says what
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise SketchError(f"the Beam pipeline ({beam.runner}) failed: {reason}") from error
    for job in jobs:
        manifest = convert.reusable(job)
        if manifest is None:
            raise SketchError(f"the Beam pipeline finished without converting {job.category!r}")
        converted.manifests[job.category] = manifest
    return built


def _check_every_category_has_drawings(converted: Converted) -> None:
    """A category without drawings is an error: a model cannot learn it, and its file is
    likely not what it claims to be."""
    counts = converted.counts()
    if not any(sum(split.values()) for split in counts.values()):
        raise SketchError(f"no valid drawings were found; nothing to build{_first_skip(converted)}")
    empty = [name for name, split in counts.items() if not sum(split.values())]
    if empty:
        raise SketchError(f"no valid drawings for {', '.join(map(repr, empty))}{_first_skip(converted)}")


def _first_skip(converted: Converted) -> str:
    return f" (first problem: {converted.skipped[0]})" if converted.skipped else ""
