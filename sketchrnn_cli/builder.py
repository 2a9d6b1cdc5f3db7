"""The TFDS DatasetBuilder that stores converted drawings under the data folder.

It only writes what it is given: the parsing, capping and splitting happen before (in
``collect.py``, pure Python), so this module is the one place that knows TFDS's API.
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

from .collect import Collected
from .config import FORMATS
from .splits import SPLITS


class QuickdrawStrokes(tfds.core.GeneratorBasedBuilder):
    """Quick, Draw! drawings as stroke-3 sequences (dx, dy, pen_lift), split by key_id hash."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "stroke-3 in a unit box, aspect kept; splits by crc32(key_id)."}
    BUILDER_CONFIGS = [tfds.core.BuilderConfig(name=name) for name in FORMATS]

    def __init__(self, *, collected: Collected, format: str, data_dir: Path):
        self._collected = collected
        self._format = format
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
                    "label": tfds.features.ClassLabel(names=list(self._collected.categories)),
                    "key_id": tfds.features.Text(),
                }
            ),
            metadata=tfds.core.MetadataDict({**self._collected.metadata(), "format": self._format}),
            homepage="https://github.com/googlecreativelab/quickdraw-dataset",
        )

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(split) for split in SPLITS}

    def _generate_examples(self, split: str):
        for example in self._collected.examples[split]:
            yield example.key, {
                "strokes": example.sequence,
                "length": len(example.sequence),
                "label": example.category,
                "key_id": example.key_id,
            }


def write_dataset(collected: Collected, format: str, staging: Path) -> Path:
    """Writes the dataset into the empty folder ``staging``; returns the folder of the finished
    dataset inside it (datastore.publish moves it into place). Never touches the network."""
    tfds.disable_progress_bar()
    builder = QuickdrawStrokes(collected=collected, format=format, data_dir=staging)
    config = tfds.download.DownloadConfig(try_download_gcs=False)
    with contextlib.redirect_stdout(io.StringIO()):  # TFDS prints its own banner to stdout
        builder.download_and_prepare(download_config=config, download_dir=str(staging / "tmp"))
    return Path(builder.data_dir)
