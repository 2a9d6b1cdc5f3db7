"""The data stage: Quick, Draw! files fetched, parsed and converted into a data folder's
published builds. NumPy only; TensorFlow only in builder.py (--tfds, Apache Beam).

    sources.py     bucket / mirror / local folder; resumable streaming downloads
    reader.py      ndjson lines and Kaggle CSV rows -> drawings, or file:line skip reasons
    strokes.py     one drawing -> stroke-3 (raw ones simplified as Google did)
    collect.py     drawings -> examples per split (caps, filters, counts)
    convert.py     category files -> checked chunks and manifests, on every core
    splits.py      the key_id hash rule
    npz.py         Sketch-RNN .npz reader that refuses pickled code
    categories.py  the 345 names (categories.txt), the one normalisation of names
    datastore.py   the data folder's layout; reading a build (dataset_info); locks
    disk.py        what a download will fetch and store; whether the disk holds it
    flat.py        a build's drawings as flat arrays: NumPy, memory-mapped
    builder.py     the TFDS DatasetBuilder (--tfds), locally or on Apache Beam
    own_words.py   your own ndjson/CSV regrouped one file per word, added to the data folder
    download.py    sources -> conversions -> a published build (DownloadRequest)
"""
