"""sketch: classify Quick, Draw! sketches from their strokes.

A map of the package, by stage (imports flow downwards; nothing imports cli):

    command line   cli.py (Click; workflows imported lazily), ui.py (rich, one-line errors), render.py
    workflows      download.py, train.py, evaluate.py, predict.py: each UI-agnostic
    data           reader.py (ndjson lines), strokes.py (pure NumPy stroke-3), collect.py
                   (examples per split), convert.py (category files on every core), splits.py,
                   npz.py, categories.py (+ categories.txt), sources.py (bucket, mirror, folder),
                   flat.py (a build's flat arrays), builder.py (TFDS files, locally or on Beam),
                   datastore.py (the data folder: builds, locks), disk.py, pipeline.py (NumPy
                   training batches), data.py (tf.data over a build)
    model          model.py (build -> Classifier: the model, its trainer, its stride),
                   model_io.py (a run's model rebuilt from config.json; SavedModel, TFLite),
                   inference.py (Predictor on TensorFlow, LiteRT), metrics.py (pure NumPy)
    runs           artifacts.py (run-folder files, atomic writes, lock), devices.py
    leaves         config.py (frozen dataclasses, one bound per field), errors.py (SketchError)
"""

__version__ = "0.1.0"
