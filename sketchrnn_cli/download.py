"""The `sketch download` workflow: source files -> parsed drawings -> the TFDS dataset.

UI-agnostic: progress goes through callbacks, problems come back in the summary or as
SourceError / ValueError with a one-line message.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import datastore, sources
from .config import FORMATS, ConfigError, parse_json
from .collect import Collected, CollectOptions, collect_ndjson, collect_npz
from .errors import SketchError, describe_os_error, writing
from .npz import load_npz



@dataclass(frozen=True)
class DownloadRequest:
    categories: tuple[str, ...]
    data_dir: Path
    format: str = "simplified"
    source: str = sources.OFFICIAL_SOURCE
    options: CollectOptions = field(default_factory=CollectOptions)
    network: sources.Network = field(default_factory=sources.Network)


@dataclass(frozen=True)
class DownloadSummary:
    dataset_dir: Path
    collected: Collected


# on_category(category, index, count) before each file; on_progress(bytes_done, bytes_total)
OnCategory = Callable[[str, int, int], None]


def download(
    request: DownloadRequest,
    on_category: OnCategory = lambda c, i, n: None,
    on_progress: sources.Progress = lambda d, t: None,
) -> DownloadSummary:
    if request.format not in FORMATS:
        raise SketchError(f"unknown format {request.format!r}; choose one of {', '.join(FORMATS)}")
    with datastore.downloading(request.data_dir):
        collected = collect(request, on_category, on_progress)
        _check_every_category_has_drawings(collected)
        from .builder import write_dataset  # imports TensorFlow: only once there is data

        staging = datastore.new_staging(request.data_dir, request.format)
        try:
            with writing(Path(request.data_dir)):
                built = write_dataset(collected, request.format, staging)
                return DownloadSummary(datastore.publish(staging, built), collected)
        finally:
            datastore.discard(staging)  # gone after publish anyway; after a failure, the old build stays


def _check_every_category_has_drawings(collected: Collected) -> None:
    """A category without drawings is an error: a model cannot learn it, and its file is
    likely not what it claims to be."""
    counts = collected.counts()
    if not any(sum(split.values()) for split in counts.values()):
        raise SketchError(f"no valid drawings were found; nothing to build{_first_skip(collected)}")
    empty = [name for name, split in counts.items() if not sum(split.values())]
    if empty:
        raise SketchError(f"no valid drawings for {', '.join(map(repr, empty))}{_first_skip(collected)}")


def _first_skip(collected: Collected) -> str:
    return f" (first problem: {collected.skipped[0]})" if collected.skipped else ""


def collect(
    request: DownloadRequest, on_category: OnCategory, on_progress: sources.Progress
) -> Collected:
    """Reads every category's file (downloading as needed) into examples per split."""
    collected = Collected(max_length=request.options.max_length)
    download_dir = datastore.downloads_dir(request.data_dir)
    for index, category in enumerate(request.categories):
        on_category(category, index, len(request.categories))
        if request.format == "npz":
            relative = sources.relative_npz_path(category)
            path = sources.fetch_file(request.source, relative, download_dir, on_progress, request.network)
            collect_npz(collected, category, load_npz(path), str(path), request.options)
        else:
            relative = sources.relative_path(request.format, category)
            lines = sources.open_lines(request.source, relative, download_dir, on_progress, request.network)
            with closing(lines):  # stops a download that is no longer needed
                collect_ndjson(collected, category, lines, _display(request.source, relative), request.options)
    return collected


def _display(source: str, relative: str) -> str:
    """How a file is named in skip reports: the path a user can open."""
    return source.rstrip("/") + "/" + relative if sources.is_remote(source) else str(Path(source) / relative)


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
