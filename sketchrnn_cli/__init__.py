"""sketch: classify Quick, Draw! sketches from their strokes.

The map of the package, by stage (imports flow downwards; no workflow imports another, and
nothing imports cli). The README links here rather than keeping a second map.

    command line  cli.py         the `sketch` command (Click): parse, call one workflow, render;
                                 user errors and signals handled once, in its group
                  ui.py          rich console, tables, one-line errors
                  render.py      braille art of a drawing
    workflows     download.py    sources -> conversions -> a published build (DownloadRequest)
                  own_words.py   your own ndjson/CSV regrouped one file per word, added to the data folder
                  train.py       TrainRequest -> prepare -> train: Keras fit + one Monitor callback
                  evaluate.py    metrics on a split or on files; every run under runs/
                  predict.py     your drawings -> top-k, by stroke
                  draw.py        `sketch draw`: the local server and its API (web/draw.html)
                  report.py      `evaluate --report`: one HTML page of inline SVG
                  about.py       `sketch info`: versions, devices, datasets
    data          reader.py      ndjson lines and Kaggle CSV rows -> drawings, or file:line skip reasons
                  strokes.py     pure NumPy: one drawing -> stroke-3 (raw ones simplified as Google did)
                  collect.py     drawings -> examples per split (caps, filters, counts)
                  convert.py     category files -> checked chunks and manifests, on every core
                  splits.py      the key_id hash rule
                  sources.py     bucket / mirror / local folder; resumable streaming downloads
                  npz.py         Sketch-RNN .npz reader that refuses pickled code
                  categories.py  the 345 names (categories.txt), the one normalisation of names
                  datastore.py   the data folder's layout; reading a build (dataset_info); locks
                  disk.py        what a download will fetch and store; whether the disk holds it
                  flat.py        a build's drawings as flat arrays: NumPy, memory-mapped
                  builder.py     the TFDS DatasetBuilder (--tfds), locally or on Apache Beam
                  pipeline.py    NumPy training batches (length buckets, augmentation), every backend
                  tfdata.py      tf.data over a build (the references' batches, old TFDS builds)
    model         model.py       build(config) -> Classifier: the model, what fit trains, its stride
                  model_io.py    a run rebuilt from config.json; SavedModel / TFLite export
                  inference.py   the Predictor protocol: LiteRT, TensorFlow, Keras
                  metrics.py     pure NumPy metrics
                  schedule.py    the training policy as pure rules (no TensorFlow)
    runs          artifacts.py   run-folder file names, atomic writes, the lock, the newest run
                  devices.py     TensorFlow start-up; device and precision per Keras backend
    leaves        config.py      frozen dataclasses saved as config.json, one bound per field
                  errors.py      SketchError, the one user-error type; OS errors named with their path
"""

__version__ = "0.1.0"
