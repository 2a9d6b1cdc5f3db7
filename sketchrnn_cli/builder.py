"""The TFDS DatasetBuilder that stores converted drawings under the data folder.

It only writes what it is given: the parsing, capping and splitting happen before (in
``convert.py``, on every core), so this module is the one place that knows TFDS's API. It
reads one category's shard at a time, so memory does not grow with the dataset.
It writes into a staging folder that ``datastore`` publishes as a build; a build is read back
with ``tfds.builder_from_directory`` (no class registry, no network).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from .devices import import_tensorflow

import_tensorflow()  # quietly, before TFDS imports it
import tensorflow_datasets as tfds  # noqa: E402
from tensorflow_datasets.core import shuffle as tfds_shuffle  # noqa: E402

from .convert import Converted
from .config import FORMATS
from .splits import SPLITS


SORT_IN_MEMORY_BYTES = 32 << 20


class QuickdrawStrokes(tfds.core.GeneratorBasedBuilder):
    """Quick, Draw! drawings as stroke-3 sequences (dx, dy, pen_lift), split by key_id hash."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "stroke-3 in a unit box, aspect kept; splits by crc32(key_id)."}
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name=name) for name in FORMATS]

    def __init__(self, *, converted: Converted, format: str, data_dir: Path):
        self._converted = converted
        self._metadata = tfds.core.MetadataDict(format=format)  # counts filled in once the drawings are written
        super().__init__(data_dir=str(data_dir), config=format)

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=self.__doc__,
            features=tfds.features.FeaturesDict(
                {
                    # Raw bytes: one field per drawing instead of a proto list of floats.
                    "strokes": tfds.features.Tensor(shape=(None, 3), dtype=np.float32,
                                                    encoding=tfds.features.Encoding.BYTES),
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
            yield key, {"strokes": sequence, "length": len(sequence), "label": category, "key_id": key_id}
        self._metadata.update(self._converted.metadata())  # TFDS saves it after the last split


def write_dataset(converted: Converted, format: str, staging: Path) -> Path:
    """Writes the dataset into the empty folder ``staging``; returns the folder of the finished
    dataset inside it (datastore.publish moves it into place). Never touches the network."""
    tfds.disable_progress_bar()
    # TFDS sorts examples in memory up to 1 GB before it spills them to bucket files on disk;
    # a smaller threshold keeps the peak flat however many drawings there are.
    tfds_shuffle.MAX_MEM_BUFFER_SIZE = SORT_IN_MEMORY_BYTES
    builder = QuickdrawStrokes(converted=converted, format=format, data_dir=staging)
    config = tfds.download.DownloadConfig(try_download_gcs=False)
    with contextlib.redirect_stdout(io.StringIO()):  # TFDS prints its own banner to stdout
        builder.download_and_prepare(download_config=config, download_dir=str(staging / "tmp"))
    return Path(builder.data_dir)
