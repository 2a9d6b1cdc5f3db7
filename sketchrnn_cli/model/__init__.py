"""The model stage: the classifier, its input, its training, the devices it runs on, and the
engines that run a trained one (training validates through them too).

    model.py       build(config) -> Classifier: the model, what fit trains, its stride
    pipeline.py    NumPy training batches (length buckets, augmentation), every backend
    tfdata.py      tf.data over a build (the references' batches, old TFDS builds)
    schedule.py    the training policy as pure rules (no TensorFlow)
    devices.py     device and precision per Keras backend; processes training in step
    train.py       TrainRequest -> prepare -> train: Keras fit + one Monitor callback
    model_io.py    a run rebuilt from config.json; TFLite / SavedModel / ONNX export
    inference.py   the Predictor protocol: LiteRT, TensorFlow, Keras, onnxruntime
"""
