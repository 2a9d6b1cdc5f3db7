"""The TFDS DatasetBuilder: a build's drawings as TFDS files too (`sketch download --tfds`),
written here or by Apache Beam (`--beam-runner`), on one machine or a cluster.

The parsing, capping and splitting are ``convert.py``'s, the same in both ways: the local
builder reads the converted shards one category at a time (memory does not grow with the
dataset); the Beam builder runs the conversion of each category on the pipeline's workers and
writes what they converted. This module is the one place that knows TFDS's and Beam's APIs.
It writes into a staging folder that ``datastore`` publishes as a build; the TFDS files are
read back with ``tfds.builder_from_directory`` (no class registry, no network).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from pathlib import Path

import numpy as np

from ..backend import import_tensorflow

import_tensorflow()  # quietly, before TFDS imports it
import tensorflow_datasets as tfds  # noqa: E402
from tensorflow_datasets.core import shuffle as tfds_shuffle  # noqa: E402

from ..config import FORMATS  # noqa: E402
from .convert import Converted, Job, category_examples, converted_or_reused  # noqa: E402
from .splits import SPLITS  # noqa: E402

SORT_IN_MEMORY_BYTES = 32 << 20


class QuickdrawStrokes(tfds.core.GeneratorBasedBuilder):
    """Quick, Draw! drawings as stroke-3 sequences (dx, dy, pen_lift), split by key_id hash."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "stroke-3 in a unit box, aspect kept; splits by crc32(key_id)."}
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name=name) for name in FORMATS]

    def __init__(self, *, converted: Converted, format: str, data_dir: Path):
        self._converted = converted
        self._metadata = tfds.core.MetadataDict(format=format)  # sketch download writes the whole metadata.json after
        super().__init__(data_dir=str(data_dir), config=format)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=tfds.features.FeaturesDict(
                {
                    # Raw bytes: one field per drawing instead of a proto list of floats.
                    "strokes": tfds.features.Tensor(
                        shape=(None, 3), dtype=np.float32, encoding=tfds.features.Encoding.BYTES
                    ),
                    "length": tfds.features.Scalar(dtype=np.int32),
                    "label": tfds.features.ClassLabel(names=list(self._converted.categories)),
                    "key_id": tfds.features.Text(),
                }
            ),
            metadata=self._metadata,
            homepage="https://github.com/googlecreativelab/quickdraw-dataset",
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in SPLITS}

    def _generate_examples(self, split: str):
        for key, key_id, category, sequence in self._converted.examples(split):
            yield key, _example(key_id, category, sequence)


class QuickdrawStrokesOnBeam(QuickdrawStrokes, skip_registration=True):  # type: ignore[call-arg]
    """The same dataset, converted and written by an Apache Beam pipeline: one category file per
    element, so the workers of any runner share the categories."""

    name = "quickdraw_strokes"  # the same files and folder as the local builder's

    def __init__(self, *, converted: Converted, jobs: list[Job], format: str, data_dir: Path):
        self._jobs = jobs
        super().__init__(converted=converted, format=format, data_dir=data_dir)

    def _split_generators(self, dl_manager, pipeline):
        beam = tfds.core.lazy_imports.apache_beam
        earlier = [(name, self._converted.manifests[name]) for name in self._converted.manifests]
        categories = (
            pipeline
            | "Categories" >> beam.Create([*self._jobs, *earlier])
            | "Spread" >> beam.Reshuffle()  # one category per worker at a time
            | "Convert" >> beam.Map(_converted)
        )
        folder = str(self._converted.folder)
        return {
            split: categories | f"Examples {split}" >> beam.FlatMap(_split_examples, split, folder) for split in SPLITS
        }


def _converted(item: Job | tuple[str, dict]) -> tuple[str, dict]:
    """On a Beam worker: (category, manifest) of a job (converted unless done before), or of a
    category converted by an earlier download."""
    return converted_or_reused(item) if isinstance(item, Job) else item


def _split_examples(converted: tuple[str, dict], split: str, folder: str):
    name, manifest = converted
    for key, key_id, category, sequence in category_examples(Path(folder), name, manifest, split):
        yield key, _example(key_id, category, sequence)


def _example(key_id: str, category: str, sequence: np.ndarray) -> dict:
    return {"strokes": sequence, "length": len(sequence), "label": category, "key_id": key_id}


def write_dataset(converted: Converted, format: str, staging: Path) -> Path:
    """Writes the TFDS files of ``converted`` (taking its categories as they arrive) into the
    empty folder ``staging``; returns the folder of the files. Never touches the network."""
    return _prepare(QuickdrawStrokes(converted=converted, format=format, data_dir=staging), staging)


def write_dataset_on_beam(
    converted: Converted, jobs: list[Job], format: str, staging: Path, runner: str, options: tuple[str, ...]
) -> Path:
    """Converts ``jobs`` and writes the TFDS files of them and of ``converted``'s categories done
    before, with a Beam pipeline on ``runner`` (with ``options`` as on Beam's command line); the
    manifests land in ``converted.folder`` as without Beam."""
    _import_beam_quietly()
    from apache_beam.options.pipeline_options import PipelineOptions

    builder = QuickdrawStrokesOnBeam(converted=converted, jobs=jobs, format=format, data_dir=staging)
    return _prepare(builder, staging, beam_runner=runner, beam_options=PipelineOptions(list(options)))


def _import_beam_quietly() -> None:
    """Beam warns on import, through the root logger, that optional Google Cloud clients are
    missing; a command line has no use for that line."""
    root, quiet = logging.getLogger(), logging.NullHandler()
    root.addHandler(quiet)  # so logging.warning() finds a handler and does not set one up
    try:
        importlib.import_module("apache_beam")
    finally:
        root.removeHandler(quiet)


def _prepare(builder: QuickdrawStrokes, staging: Path, **beam) -> Path:
    tfds.disable_progress_bar()
    # TFDS sorts examples in memory up to 1 GB before it spills them to bucket files on disk;
    # a smaller threshold keeps the peak flat however many drawings there are.
    tfds_shuffle.MAX_MEM_BUFFER_SIZE = SORT_IN_MEMORY_BYTES
    config = tfds.download.DownloadConfig(try_download_gcs=False, **beam)
    with contextlib.redirect_stdout(io.StringIO()):  # TFDS prints its own banner to stdout
        builder.download_and_prepare(download_config=config, download_dir=str(staging / "tmp"))
    return Path(builder.data_dir)
