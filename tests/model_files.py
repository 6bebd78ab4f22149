"""Model files written by hand, for the tests of what load() accepts and refuses."""

import json

import numpy as np


def good_meta(**changes):
    """The metadata of a valid 3-2 MLP file, with ``changes`` (any JSON values) applied."""
    meta = {
        "format": "gategraph.model",
        "version": 1,
        "class": "MLP",
        "config": {"sizes": [3, 2], "activation": "relu", "loss": "softmax_cross_entropy"},
        "dtype": "float32",
    }
    meta.update(changes)
    return meta


GOOD_ARRAYS = {"W1": np.arange(6, dtype=np.float32).reshape(2, 3) / 10, "b1": np.array([0.5, -0.5], np.float32)}


def write_model(path, meta, arrays=GOOD_ARRAYS):
    """An .npz as np.savez writes it, with ``meta`` (any JSON value) as its metadata."""
    np.savez(path, __model__=np.array(json.dumps(meta)), **arrays)
    return path
