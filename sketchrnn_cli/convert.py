"""Category files -> converted shards, one category per job, on every core. NumPy only.

The unit of work is one category file: a worker fetches (or reads) it, parses its lines and
writes the category's examples in chunks of ``Job.chunk`` drawings, ``<category>.<k>.npz``
(per split: the stroke-3 points of every drawing end to end, their offsets, key_ids), and
then its manifest, ``<category>.json`` (chunks, counts, skipped lines, the cap it was made
with), each renamed into place. A finished manifest is what a later run skips: a download that dies after 200 of 345
categories keeps those 200. Shards live in a folder per conversion setting
(``<data>/converted/<format>-<max_length>[-recognized]/``), so changing a setting converts
again and a new category is converted once. Memory holds one chunk per worker, whatever the size of a category.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import signal
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from . import sources
from .artifacts import TEMPORARY_PREFIX, atomic_write, atomic_write_text
from .collect import Collected, CollectOptions, collect_ndjson, collect_npz
from .npz import load_npz
from .splits import SPLITS

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to convert one category (picklable)."""

    category: str
    source: str
    format: str
    download_dir: Path
    out: Path  # the folder of this conversion setting
    options: CollectOptions
    network: sources.Network
    chunk: int = 20_000  # drawings held before they are written out: a worker's memory bound
    keep_downloads: bool = True  # False: a fetched source file is deleted once its category is converted


@dataclass
class Converted:
    """The categories of one conversion setting, as the dataset build reads them. While
    ``arriving`` still yields (category, manifest) pairs of a conversion under way, the
    first pass over the examples takes each category as it arrives: the build writes while
    the workers convert."""

    categories: list[str]
    manifests: dict[str, dict]
    folder: Path
    max_length: int
    arriving: Iterator[tuple[str, dict]] | None = None

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: dict(self.manifests[name]["counts"]) for name in self.categories}

    @property
    def skipped(self) -> list[str]:
        """file:line: reason records, in category order (the first 1,000 of each: collect.SKIPPED_KEPT)."""
        return [record for name in self.categories for record in self.manifests[name]["skipped_examples"]]

    @property
    def skipped_count(self) -> int:
        return sum(self.manifests[name]["skipped"] for name in self.categories)

    @property
    def unrecognized_count(self) -> int:
        return sum(self.manifests[name]["unrecognized"] for name in self.categories)

    def metadata(self) -> dict:
        return {"categories": list(self.categories), "counts": self.counts(), "skipped": self.skipped_count,
                "unrecognized_dropped": self.unrecognized_count, "max_length": self.max_length}

    def wait(self) -> None:
        """Takes every category still arriving."""
        for _ in self._ready():
            pass

    def examples(self, split: str) -> Iterator[tuple[str, str, str, np.ndarray]]:
        """(key, key_id, category, stroke-3) of one split, one chunk in memory at a time."""
        for category in self._ready():
            yield from category_examples(self.folder, category, self.manifests[category], split)

    def _ready(self) -> Iterator[str]:
        """The categories with a manifest, then those still arriving, as they arrive."""
        yield from [name for name in self.categories if name in self.manifests]
        while self.arriving is not None:
            try:
                name, manifest = next(self.arriving)
            except StopIteration:
                self.arriving = None
                return
            self.manifests[name] = manifest
            yield name


def category_examples(folder: Path, category: str, manifest: dict, split: str) -> Iterator[tuple[str, str, str, np.ndarray]]:
    """(key, key_id, category, stroke-3) of one category's split, read chunk by chunk."""
    for chunk in manifest["chunks"]:
        with np.load(Path(folder) / chunk) as shard:
            points, offsets, key_ids = (shard[f"{split}_{part}"] for part in ("points", "offsets", "key_ids"))
        for index, key_id in enumerate(key_ids.tolist()):
            yield f"{category}/{key_id}", key_id, category, points[offsets[index] : offsets[index + 1]]


def converted_or_reused(job: Job) -> tuple[str, dict]:
    """(category, manifest) of a job, converting it only when no earlier conversion answers it."""
    return job.category, reusable(job) or convert_category(job)


def converted_before(folder: Path, exclude: list[str]) -> dict[str, dict]:
    """The manifests of the other categories converted into this setting's folder before
    (sorted by name): the data folder's dataset is the union of what was downloaded into it."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        if path.stem in exclude:
            continue
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if manifest.get("version") == MANIFEST_VERSION and all((folder / c).is_file() for c in manifest["chunks"]):
            found[path.stem] = manifest
    return found


def setting_folder(data_dir: Path, format: str, options: CollectOptions) -> Path:
    name = f"{format}-{options.max_length}" + ("-recognized" if options.recognized_only else "")
    return Path(data_dir) / "converted" / name


# on_done(category, categories done, categories in all, drawings converted so far)
OnDone = Callable[[str, int, int, int], None]
# on_file(category, bytes read, bytes in its file or None): from every worker, a few times a second
OnFile = Callable[[str, int, "int | None"], None]
REPORTS_PER_SECOND = 5


def convert_all(jobs: list[Job], workers: int, on_done: OnDone = lambda c, d, n, k: None,
                on_file: OnFile = lambda c, d, t: None) -> dict[str, dict]:
    """Every job's manifest, once all are converted."""
    return dict(converting(jobs, workers, on_done, on_file))


def converting(jobs: list[Job], workers: int, on_done: OnDone = lambda c, d, n, k: None,
               on_file: OnFile = lambda c, d, t: None) -> Iterator[tuple[str, dict]]:
    """(category, manifest) of every job: first those converted before, then the others as
    ``workers`` processes finish them, each reporting the bytes of its file through ``on_file``."""
    if not jobs:
        return
    out = jobs[0].out
    out.mkdir(parents=True, exist_ok=True)
    for leftover in out.glob(TEMPORARY_PREFIX + "*"):  # a killed worker's (we hold the download lock)
        leftover.unlink()
    reused = [(job.category, manifest) for job in jobs if (manifest := reusable(job)) is not None]
    todo = [job for job in jobs if job.category not in dict(reused)]
    drawings = 0
    for done, (category, manifest) in enumerate(itertools.chain(reused, _run(todo, workers, on_file)), 1):
        drawings += sum(manifest["counts"].values())
        on_done(category, done, len(jobs), drawings)
        yield category, manifest


def _run(jobs: list[Job], workers: int, on_file: OnFile) -> Iterator[tuple[str, dict]]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job.category, convert_category(job, _throttled(job.category, on_file))
        return
    context = multiprocessing.get_context("spawn")  # workers import NumPy, never TensorFlow
    reports = context.SimpleQueue()
    pool = context.Pool(min(workers, len(jobs)), initializer=_start_worker, initargs=(reports,))
    try:
        results = pool.imap_unordered(_convert_in_worker, jobs)
        while True:
            try:
                result = results.next(timeout=1 / REPORTS_PER_SECOND)
            except multiprocessing.TimeoutError:
                result = None
            except StopIteration:
                break
            while not reports.empty():  # a worker sends its last report before its result
                on_file(*reports.get())
            if result is not None:
                yield result
        pool.close()
    finally:
        pool.terminate()  # on an error or Ctrl-C: finished categories are kept, the rest stops
        pool.join()


_reports = None  # in a worker process: where it sends (category, bytes read, bytes in all)


def _start_worker(reports) -> None:
    global _reports
    _reports = reports
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _convert_in_worker(job: Job) -> tuple[str, dict]:
    return job.category, convert_category(job, _throttled(job.category, lambda *report: _reports.put(report)))


def _throttled(category: str, on_file: OnFile) -> sources.Progress:
    """A file's byte progress as on_file reports: a few a second, and the last one."""
    last = [0.0]

    def report(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 1 / REPORTS_PER_SECOND or done == total:
            last[0] = now
            on_file(category, done, total)

    return report


def reusable(job: Job) -> dict | None:
    """The category's manifest when its shard answers this job: made with the same cap, or
    holding its whole file and no more drawings than the cap asks for."""
    try:
        manifest = json.loads((job.out / f"{job.category}.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("version") != MANIFEST_VERSION or not all((job.out / c).is_file() for c in manifest["chunks"]):
        return None
    now, then = _source_of(job), manifest["source"]
    if now["file"] != then["file"] or now["bytes"] not in (None, then["bytes"]):  # another source, or it changed
        return None
    cap, kept = job.options.max_per_class, sum(manifest["counts"].values())
    if manifest["max_per_class"] == cap:
        return manifest
    return manifest if manifest["complete"] and (cap is None or cap >= kept) else None


def convert_category(job: Job, on_progress: sources.Progress = lambda d, t: None) -> dict:
    """Reads one category's file, writes its examples in chunks, then its manifest; returns the
    manifest."""
    (job.out / f"{job.category}.json").unlink(missing_ok=True)  # its chunks go next: never a manifest without them
    _remove_chunks(job.out, job.category)  # of an earlier, unfinished conversion
    try:
        return _convert(job, on_progress)
    except BaseException:
        _remove_chunks(job.out, job.category)  # a full disk gets its space back; the category is redone anyway
        raise


def _convert(job: Job, on_progress: sources.Progress) -> dict:
    chunks, counts = [], dict.fromkeys(SPLITS, 0)

    def flush(collected: Collected) -> None:
        if any(collected.examples.values()):
            name = f"{job.category}.{len(chunks)}.npz"
            atomic_write(job.out / name, lambda tmp: _write_shard(tmp, collected))
            chunks.append(name)
            for split, examples in collected.examples.items():
                counts[split] += len(examples)
                examples.clear()

    collected = Collected(flush=flush, flush_every=job.chunk)
    started = time.perf_counter()
    if job.format == "npz":
        path = sources.fetch_file(job.source, sources.relative_npz_path(job.category), job.download_dir,
                                  on_progress, job.network)
        collect_npz(collected, job.category, load_npz(path), str(path), job.options)
        complete = True
    else:
        relative = sources.relative_path(job.format, job.category)
        lines = sources.open_lines(job.source, relative, job.download_dir, on_progress, job.network)
        with closing(lines):  # stops a download that is no longer needed
            collect_ndjson(collected, job.category, lines, display_name(job.source, relative), job.options)
        complete = job.options.max_per_class is None or collected.kept < job.options.max_per_class
    flush(collected)
    manifest = {
        "version": MANIFEST_VERSION,
        "category": job.category,
        "max_per_class": job.options.max_per_class,
        "complete": complete,  # the whole file was read (not stopped by the cap)
        "source": _source_of(job),
        "counts": counts,
        "chunks": chunks,
        "skipped": collected.skipped_count,
        "skipped_examples": [str(record) for record in collected.skipped],
        "unrecognized": collected.unrecognized_count,
        "seconds": time.perf_counter() - started,
        "pid": os.getpid(),
    }
    atomic_write_text(job.out / f"{job.category}.json", json.dumps(manifest) + "\n")
    if not job.keep_downloads and sources.is_remote(job.source):
        for relative in (sources.relative_path(job.format, job.category), sources.relative_npz_path(job.category)):
            (job.download_dir / relative).unlink(missing_ok=True)  # only what we fetched; never a local source
    return manifest


def _source_of(job: Job) -> dict:
    """Where a category's drawings came from, and the size of the file when it is on disk."""
    if job.format == "npz":
        relative = sources.relative_npz_path(job.category)
    else:
        relative = sources.relative_path(job.format, job.category)
    local = job.download_dir / relative if sources.is_remote(job.source) else Path(job.source) / relative
    return {"file": display_name(job.source, relative), "bytes": local.stat().st_size if local.is_file() else None}


def _remove_chunks(folder: Path, category: str) -> None:
    for path in folder.glob("*.npz"):
        if path.name.startswith(category + ".") and path.name[len(category) + 1 : -4].isdigit():
            path.unlink()


def _write_shard(path: Path, collected: Collected) -> None:
    arrays = {}
    for split in SPLITS:
        examples = collected.examples[split]
        lengths = [len(example.sequence) for example in examples]
        arrays[f"{split}_points"] = (np.concatenate([e.sequence for e in examples]) if examples
                                     else np.zeros((0, 3), np.float32))
        arrays[f"{split}_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        arrays[f"{split}_key_ids"] = np.array([e.key_id for e in examples], dtype=np.str_)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def display_name(source: str, relative: str) -> str:
    """How a file is named in skip reports: the path a user can open."""
    return source.rstrip("/") + "/" + relative if sources.is_remote(source) else str(Path(source) / relative)
