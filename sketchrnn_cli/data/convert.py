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
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artifacts import TEMPORARY_PREFIX, atomic_write, atomic_write_text
from ..errors import SketchError
from . import sources
from .collect import Collected, CollectOptions, collect_ndjson, collect_npz
from .npz import load_npz
from .splits import SPLITS

# 2: each chunk's size and CRC-32 are recorded and checked before a conversion is reused;
# conversions of version 1 are converted again.
MANIFEST_VERSION = 2


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
    # Your own drawings of a category that also has official ones: the official chunks, whose
    # key_ids are left out here, and their manifest's digest (a new official conversion redoes this).
    known_chunks: tuple[Path, ...] = ()
    joins: str | None = None


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
        return {
            "categories": list(self.categories),
            "counts": self.counts(),
            "skipped": self.skipped_count,
            "unrecognized_dropped": self.unrecognized_count,
            "max_length": self.max_length,
        }

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


def category_examples(
    folder: Path, category: str, manifest: dict, split: str
) -> Iterator[tuple[str, str, str, np.ndarray]]:
    """(key, key_id, category, stroke-3) of one category's split, read chunk by chunk."""
    for chunk in manifest["chunks"]:
        with np.load(Path(folder) / chunk) as shard:
            points, offsets, key_ids = (shard[f"{split}_{part}"] for part in ("points", "offsets", "key_ids"))
        for index, key_id in enumerate(key_ids.tolist()):
            yield f"{category}/{key_id}", key_id, category, points[offsets[index] : offsets[index + 1]]


def converted_or_reused(job: Job) -> tuple[str, dict]:
    """(category, manifest) of a job, converting it only when no earlier conversion answers it."""
    return job.category, reusable(job) or convert_category(job)


def converted_before(folder: Path, exclude: list[str], not_from: str | None = None) -> dict[str, dict]:
    """The manifests of the other categories converted into this setting's folder before
    (sorted by name), whole and undamaged: the data folder's dataset is the union of what was
    downloaded into it. ``not_from``: a source folder whose conversions do not count here."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        if path.stem in exclude:
            continue
        manifest = read_manifest(folder, path.stem)
        from_there = not_from and manifest is not None and Path(manifest["source"]["file"]).is_relative_to(not_from)
        if manifest is not None and not from_there:
            found[path.stem] = manifest
    return found


def read_manifest(folder: Path, category: str) -> dict | None:
    """A category's manifest when it is as we write it and every chunk it names is whole (its
    size and CRC-32 as recorded); None otherwise, so the category is converted again."""
    try:
        manifest = json.loads((folder / f"{category}.json").read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not _well_formed(manifest, category):
        return None
    for name, (size, crc) in zip(manifest["chunks"], manifest["checksums"]):
        if _checksum(folder / name) != (size, crc):
            return None
    return manifest


def _well_formed(manifest, category: str) -> bool:
    """Every field of the types we write; chunk names only this category's, in this folder."""

    def count(value) -> bool:
        return type(value) is int and value >= 0

    try:
        chunks, checksums, source = manifest["chunks"], manifest["checksums"], manifest["source"]
        return (
            manifest["version"] == MANIFEST_VERSION
            and manifest["category"] == category
            and isinstance(manifest["counts"], dict)
            and sorted(manifest["counts"]) == sorted(SPLITS)
            and all(count(v) for v in manifest["counts"].values())
            and isinstance(chunks, list)
            and all(_is_chunk_of(c, category) for c in chunks)
            and isinstance(checksums, list)
            and len(checksums) == len(chunks)
            and all(isinstance(c, list) and len(c) == 2 and all(count(v) for v in c) for c in checksums)
            and isinstance(source, dict)
            and isinstance(source["file"], str)
            and (source["bytes"] is None or count(source["bytes"]))
            and (manifest["max_per_class"] is None or count(manifest["max_per_class"]))
            and isinstance(manifest["complete"], bool)
            and count(manifest["skipped"])
            and count(manifest["unrecognized"])
            and isinstance(manifest["skipped_examples"], list)
            and all(isinstance(line, str) for line in manifest["skipped_examples"])
            and (manifest.get("joins") is None or isinstance(manifest["joins"], str))
        )
    except (KeyError, TypeError, AttributeError):
        return False


def _is_chunk_of(name, category: str) -> bool:
    return (
        isinstance(name, str)
        and name.startswith(category + ".")
        and name.endswith(".npz")
        and name[len(category) + 1 : -4].isascii()
        and name[len(category) + 1 : -4].isdigit()
    )


_checked: dict[tuple, tuple[int, int]] = {}  # (path, size, mtime) -> checksum: a download reads each chunk once


def _checksum(path: Path) -> tuple[int, int] | None:
    """(bytes, CRC-32) of a file, or None when it cannot be read."""
    try:
        status = path.stat()
        key = (str(path), status.st_size, status.st_mtime_ns, status.st_ino)
        if key not in _checked:
            crc, size = 0, 0
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    crc, size = zlib.crc32(block, crc), size + len(block)
            _checked[key] = (size, crc)
    except OSError:
        return None
    return _checked[key]


def manifest_digest(manifest: dict) -> str:
    """What identifies a conversion: your own drawings joined to it are converted again when it changes."""
    return f"{zlib.crc32(json.dumps(manifest, sort_keys=True).encode()):08x}"


def setting_folder(data_dir: Path, format: str, options: CollectOptions) -> Path:
    name = f"{format}-{options.max_length}" + ("-recognized" if options.recognized_only else "")
    return Path(data_dir) / "converted" / name


# on_done(category, categories done, categories in all, drawings converted so far)
OnDone = Callable[[str, int, int, int], None]
# on_file(category, bytes read, bytes in its file or None): from every worker, a few times a second
OnFile = Callable[[str, int, "int | None"], None]
REPORTS_PER_SECOND = 5


def convert_all(
    jobs: list[Job], workers: int, on_done: OnDone = lambda c, d, n, k: None, on_file: OnFile = lambda c, d, t: None
) -> dict[str, dict]:
    """Every job's manifest, once all are converted."""
    return dict(converting(jobs, workers, on_done, on_file))


def converting(
    jobs: list[Job],
    workers: int,
    on_done: OnDone = lambda c, d, n, k: None,
    on_file: OnFile = lambda c, d, t: None,
    start: int = 0,
    total: int | None = None,
) -> Iterator[tuple[str, dict]]:
    """(category, manifest) of every job: first those converted before, then the others as
    ``workers`` processes finish them, each reporting the bytes of its file through ``on_file``;
    on_done counts from ``start`` of ``total`` (one progress over several calls)."""
    if not jobs:
        return
    out = jobs[0].out
    out.mkdir(parents=True, exist_ok=True)
    for leftover in out.glob(TEMPORARY_PREFIX + "*"):  # a killed worker's (we hold the download lock)
        leftover.unlink()
    reused = [(job.category, manifest) for job in jobs if (manifest := reusable(job)) is not None]
    todo = [job for job in jobs if job.category not in dict(reused)]
    drawings = 0
    for done, (category, manifest) in enumerate(itertools.chain(reused, _run(todo, workers, on_file)), start + 1):
        drawings += sum(manifest["counts"].values())
        on_done(category, done, total or len(jobs), drawings)
        yield category, manifest


def _run(jobs: list[Job], workers: int, on_file: OnFile) -> Iterator[tuple[str, dict]]:
    """(category, manifest) of each job as it is converted. A worker that dies (the OOM killer's
    SIGKILL) is noticed at once: the categories not finished go to fresh workers, and one that
    was being converted when a worker died twice stops the download, named."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job.category, convert_category(job, _throttled(job.category, on_file))
        return
    deaths = dict.fromkeys((job.category for job in jobs), 0)
    todo, fruitless = list(jobs), 0
    while todo:
        started: set[str] = set()
        before = len(todo)
        for result in _run_pool(todo, workers, on_file, started):
            todo = [job for job in todo if job.category != result[0]]
            yield result
        fruitless = fruitless + 1 if todo and not started and len(todo) == before else 0
        if fruitless >= 3:  # workers that die before they begin a category: never an endless loop
            raise SketchError(
                "the conversion workers died three times before converting anything; "
                "free memory or use --workers 1, then download again"
            )
        for category in started & {job.category for job in todo}:
            deaths[category] += 1
            if deaths[category] >= 2:
                raise SketchError(
                    f"the worker converting {category!r} was killed twice (by the system, most "
                    f"likely for lack of memory); free memory or use --workers 1, then download again"
                )


def _run_pool(jobs: list[Job], workers: int, on_file: OnFile, started: set[str]) -> Iterator[tuple[str, dict]]:
    """One pool's results; returns early when a worker died, leaving the unfinished jobs undone
    and ``started`` naming the categories that had begun."""
    context = multiprocessing.get_context("spawn")  # workers import NumPy, never TensorFlow
    reports = context.SimpleQueue()  # a new one per pool: a killed writer may hold the old one's lock

    def drain() -> None:
        while not reports.empty():  # a worker sends its last report before its result
            report = reports.get()
            started.add(report[0])
            on_file(*report)

    others = set(multiprocessing.active_children())  # children that are not this pool's
    pool = ProcessPoolExecutor(
        min(workers, len(jobs)), mp_context=context, initializer=_start_worker, initargs=(reports,)
    )
    try:
        pending = {pool.submit(_convert_in_worker, job) for job in jobs}
        while pending:
            done, pending = wait(pending, timeout=1 / REPORTS_PER_SECOND, return_when=FIRST_COMPLETED)
            drain()
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    return
                yield result
    finally:
        for child in set(multiprocessing.active_children()) - others:  # on an error or Ctrl-C: its workers stop,
            child.terminate()  # finished categories are kept
        pool.shutdown(wait=True, cancel_futures=True)


_reports = None  # in a worker process: where it sends (category, bytes read, bytes in all)


def _start_worker(reports) -> None:
    global _reports
    _reports = reports
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _convert_in_worker(job: Job) -> tuple[str, dict]:
    reports = _reports
    assert reports is not None, "a worker starts with _start_worker"
    reports.put((job.category, 0, None))  # begun: the parent knows what a dead worker was doing
    return job.category, convert_category(job, _throttled(job.category, lambda *report: reports.put(report)))


def _throttled(category: str, on_file: OnFile) -> sources.OnBytes:
    """A file's byte progress as on_file reports: a few a second, and the last one."""
    last = [0.0]

    def report(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 1 / REPORTS_PER_SECOND or done == total:
            last[0] = now
            on_file(category, done, total)

    return report


def reusable(job: Job) -> dict | None:
    """The category's manifest when its shard answers this job: undamaged, made with the same
    cap (or holding its whole file and no more drawings than the cap asks for), and joined to
    the official conversion that exists now."""
    manifest = read_manifest(job.out, job.category)
    if manifest is None or manifest.get("joins") != job.joins:
        return None
    now, then = _source_of(job), manifest["source"]
    if now["file"] != then["file"] or now["bytes"] not in (None, then["bytes"]):  # another source, or it changed
        return None
    cap, kept = job.options.max_per_class, sum(manifest["counts"].values())
    if manifest["max_per_class"] == cap:
        return manifest
    return manifest if manifest["complete"] and (cap is None or cap >= kept) else None


def convert_category(job: Job, on_progress: sources.OnBytes = lambda d, t: None) -> dict:
    """Reads one category's file, writes its examples in chunks, then its manifest; returns the
    manifest."""
    (job.out / f"{job.category}.json").unlink(missing_ok=True)  # its chunks go next: never a manifest without them
    _remove_chunks(job.out, job.category)  # of an earlier, unfinished conversion
    try:
        return _convert(job, on_progress)
    except BaseException:
        _remove_chunks(job.out, job.category)  # a full disk gets its space back; the category is redone anyway
        raise


def _convert(job: Job, on_progress: sources.OnBytes) -> dict:
    chunks: list[str] = []
    checksums: list[list[int]] = []
    counts = dict.fromkeys(SPLITS, 0)

    def flush(collected: Collected) -> None:
        if any(collected.examples.values()):
            name = f"{job.category}.{len(chunks)}.npz"
            atomic_write(job.out / name, lambda tmp: _write_shard(tmp, collected))
            chunks.append(name)
            checksums.append(list(_checksum(job.out / name) or (0, 0)))
            for split, examples in collected.examples.items():
                counts[split] += len(examples)
                examples.clear()

    collected = Collected(flush=flush, flush_every=job.chunk)
    started = time.perf_counter()
    if job.format == "npz":
        path = sources.fetch_file(
            job.source, sources.relative_npz_path(job.category), job.download_dir, on_progress, job.network
        )
        collect_npz(collected, job.category, load_npz(path), str(path), job.options)
        complete = True
    else:
        relative = sources.relative_path(job.format, job.category)
        lines = sources.open_lines(job.source, relative, job.download_dir, on_progress, job.network)
        with closing(lines):  # type: ignore[type-var]  # a generator: close() stops a download no longer needed
            collect_ndjson(
                collected,
                job.category,
                lines,
                display_name(job.source, relative),
                job.options,
                known=_key_ids_of(job.known_chunks),
            )
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
        "checksums": checksums,
        "joins": job.joins,
        "already_there": collected.known_count,  # drawings the official conversion holds already
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


def _key_ids_of(chunks: tuple[Path, ...]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks:
        with np.load(chunk) as shard:
            for split in SPLITS:
                found.update(shard[f"{split}_key_ids"].tolist())
    return found


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
        if _is_chunk_of(path.name, category):
            path.unlink()


def _write_shard(path: Path, collected: Collected) -> None:
    arrays = {}
    for split in SPLITS:
        examples = collected.examples[split]
        lengths = [len(example.sequence) for example in examples]
        arrays[f"{split}_points"] = (
            np.concatenate([e.sequence for e in examples]) if examples else np.zeros((0, 3), np.float32)
        )
        arrays[f"{split}_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        arrays[f"{split}_key_ids"] = np.array([e.key_id for e in examples], dtype=np.str_)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # NumPy's stub types allow_pickle among the arrays


def display_name(source: str, relative: str) -> str:
    """How a file is named in skip reports: the path a user can open."""
    return source.rstrip("/") + "/" + relative if sources.is_remote(source) else str(Path(source) / relative)
