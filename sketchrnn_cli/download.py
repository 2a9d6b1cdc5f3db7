"""The `sketch download` workflow: source files -> converted shards (convert.py) -> a TFDS dataset build.

UI-agnostic: progress goes through callbacks, problems come back in the summary or as
SourceError / ValueError with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import convert, datastore, disk, flat, sources
from .collect import CollectOptions
from .config import FORMATS, ConfigError, parse_json
from .convert import Converted
from .errors import SketchError, describe_os_error, writing



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


@dataclass(frozen=True)
class DownloadSummary:
    dataset_dir: Path
    collected: Converted  # the dataset's categories, counts and skipped lines


def download(
    request: DownloadRequest,
    on_done: convert.OnDone = lambda c, d, n, k: None,
    on_progress: sources.Progress = lambda d, t: None,
    on_plan: Callable[[disk.DiskPlan], None] = lambda plan: None,
) -> DownloadSummary:
    """Converts the categories not converted yet (in parallel), then builds and publishes the
    dataset of every category converted with these settings."""
    if request.format not in FORMATS:
        raise SketchError(f"unknown format {request.format!r}; choose one of {', '.join(FORMATS)}")
    with datastore.downloading(request.data_dir):
        folder = convert.setting_folder(request.data_dir, request.format, request.options)
        jobs = [convert.Job(category, request.source, request.format, datastore.downloads_dir(request.data_dir),
                            folder, request.options, request.network, keep_downloads=request.keep_downloads)
                for category in request.categories]
        others = convert.converted_before(folder, exclude=list(request.categories))
        todo = [job for job in jobs if convert.reusable(job) is None]
        room = disk.plan(todo, others, request.data_dir, request.keep_downloads)
        on_plan(room)
        disk.check(room, request.data_dir)  # before anything is fetched or written
        converted = convert.Converted([*request.categories, *others], others, folder, request.options.max_length,
                                      arriving=convert.converting(jobs, request.workers, on_done, on_progress))
        if request.workers <= 1:  # one core: convert first, so a bad category stops before TensorFlow starts
            converted.wait()
            _check_every_category_has_drawings(converted)
        from .builder import write_dataset  # imports TensorFlow (the workers never do)

        staging = datastore.new_staging(request.data_dir, request.format)
        try:
            with writing(Path(request.data_dir)):
                built = write_dataset(converted, request.format, staging)  # while the workers convert
                flat.write(converted, built)  # the same drawings for readers without TensorFlow
            _check_every_category_has_drawings(converted)
            return DownloadSummary(datastore.publish(staging, built), converted)
        finally:
            datastore.discard(staging)  # gone after publish anyway; after a failure, the old build stays


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


def dataset_dir(data_dir: Path, format: str) -> Path | None:
    """The newest published build of the dataset of this format, if one was built."""
    return datastore.current_build(data_dir, format)


def built_datasets(data_dir: Path) -> dict[str, Path]:
    return {f: path for f in FORMATS if (path := dataset_dir(data_dir, f)) is not None}


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    labels: tuple[str, ...]
    counts: dict[str, dict[str, int]]  # {category: {split: drawings}}
    max_length: int  # points kept per drawing at download time
    format: str  # simplified, raw or npz: what the drawings were made from

    def count(self, split: str, labels: tuple[str, ...] | None = None) -> int:
        return sum(self.counts[label][split] for label in (labels or self.labels))


def dataset_info(path: Path) -> DatasetInfo:
    """Labels and counts of a dataset made by `sketch download`, read from its metadata."""
    metadata_file = Path(path) / "metadata.json"
    try:
        metadata = parse_json(metadata_file.read_text(), "metadata.json")
        # Datasets of sketch 0.x did not record their format; their folder was named by it.
        format = metadata.get("format", Path(path).parent.name)
        info = DatasetInfo(Path(path), tuple(metadata["categories"]), metadata["counts"], int(metadata["max_length"]),
                           format)
        info.count("train")  # every category has counts
        return info
    except OSError as error:
        raise SketchError(f"{metadata_file}: cannot read ({describe_os_error(error)})") from None
    except (ConfigError, UnicodeDecodeError, LookupError, TypeError, ValueError) as error:
        reason = str(error) if isinstance(error, ConfigError) else f"{type(error).__name__}: {error}"
        raise SketchError(f"{metadata_file}: damaged, not as sketch download writes it ({reason})") from None
