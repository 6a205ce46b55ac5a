"""tailor: long-tailed (class-imbalanced) classification, the Python package over libtailor.

    import numpy as np, tailor
    data = tailor.Dataset(x_train, y_train, test=(x_test, y_test))
    model = tailor.train(data, model="mlp", loss="balanced-softmax", epochs=10)
    model.predict(x_test); model.predict_proba(x_test); model.evaluate(data)["balanced_accuracy"]

ctypes over the shared library (no compiled extension); numpy arrays in and out; the options are the
`tailor` command's (docs/cli.md), with underscores for dashes. docs/python.md documents it, and
tailor.sklearn.LongTailClassifier is the scikit-learn estimator.
"""
from ._lib import SONAME, Cancelled, TailorError, TrainStatus, lib as _lib
from .data import Dataset
from .model import CancelToken, Config, Model, load, train

__version__ = _lib.tl_version().decode()

__all__ = ["Cancelled", "CancelToken", "Config", "Dataset", "Model", "SONAME", "TailorError", "TrainStatus",
           "load", "train", "__version__"]
