"""How much a download fetches and stores, before it starts; and whether the disk holds it.

Estimates from the source files' sizes (a HEAD request each, in parallel, for a remote source)
and ratios read with `du` on 300,000-drawing builds (BENCHMARKS.md): per byte of simplified
ndjson, the converted chunks take about 1.1 bytes, a build's flat arrays about 1.0 and its
TFDS files (--tfds, --beam-runner) about 1.1 more (raw ndjson is larger per drawing, so the
ratios should err high for it). With --max-per-class, a file is read only as far as the cap, so the
estimate uses the cap times a mean drawing's bytes where that is less than the file.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import SketchError
from . import sources

CONVERTED_PER_SOURCE_BYTE = 1.1
FLAT_PER_SOURCE_BYTE = 1.0
TFDS_PER_SOURCE_BYTE = 1.1
BYTES_PER_DRAWING = {"simplified": 490, "raw": 3500}  # mean line of the mirror's files (Google's own)
MARGIN = 1.1  # asked for beyond the estimate


@dataclass(frozen=True)
class DiskPlan:
    fetch: int  # bytes downloaded, at most
    store: int  # bytes written under the data folder, about
    free: int  # bytes free there now
    unknown: int  # files whose size the source did not tell

    def fits(self) -> bool:
        return self.store * MARGIN <= self.free


def build_per_source_byte(tfds: bool) -> float:
    return FLAT_PER_SOURCE_BYTE + (TFDS_PER_SOURCE_BYTE if tfds else 0.0)


def plan(jobs: list, others: dict[str, dict], data_dir: Path, keep_downloads: bool, tfds: bool = False) -> DiskPlan:
    """``jobs``: the convert.Jobs not converted yet; ``others``: manifests of categories the
    dataset will also hold (converted before); ``tfds``: the build has TFDS files too."""

    def expected(job) -> int | None:
        relative = (
            sources.relative_npz_path(job.category)
            if job.format == "npz"
            else sources.relative_path(job.format, job.category)
        )
        size = sources.file_size(job.source, relative, job.network)
        cap = job.options.max_per_class
        if size is not None and cap is not None and job.format in BYTES_PER_DRAWING:
            size = min(size, cap * BYTES_PER_DRAWING[job.format])
        return size

    with ThreadPoolExecutor(16) as pool:
        sizes = list(pool.map(expected, jobs))
    known = [size for size in sizes if size is not None]
    remote = bool(jobs) and sources.is_remote(jobs[0].source)
    fetch = sum(known) if remote else 0
    before = sum((m.get("source") or {}).get("bytes") or 0 for m in others.values())
    store = (fetch if keep_downloads else 0) + int(
        sum(known) * CONVERTED_PER_SOURCE_BYTE + (sum(known) + before) * build_per_source_byte(tfds)
    )
    return DiskPlan(fetch, store, free_bytes(data_dir), len(sizes) - len(known))


def free_bytes(data_dir: Path) -> int:
    return shutil.disk_usage(_existing(data_dir)).free


def check(disk: DiskPlan, data_dir: Path) -> None:
    if not disk.fits():
        raise SketchError(
            f"{data_dir}: this download needs about {size_text(disk.store * MARGIN)} of disk and "
            f"{size_text(disk.free)} is free; free some space, choose another --data-dir, or take "
            f"less (--max-per-class, fewer categories, --no-keep-downloads)"
        )


def size_text(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1000
    return ""


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    return path
