"""models: networks built from gates, optimisers, training, data sets and model files.

>>> import numpy as np
>>> from models import MLP, Adam, fit
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
>>> y = np.array([0, 1, 1, 0])                     # XOR
>>> model = MLP([2, 8, 2], activation="tanh", seed=0)
>>> history = fit(model, Adam(model.parameters(), lr=0.05), X, y, epochs=200, batch_size=4, seed=0)
>>> model.predict_classes(X)
array([0, 1, 1, 0])
"""

from models.data import (
    FASHION_MNIST_DIR,
    MNIST_FILES,
    MNIST_MIRRORS,
    MNIST_SHA256,
    load_fashion_mnist,
    load_idx_directory,
    load_mnist,
    one_hot,
    read_idx,
    scale_images,
    write_idx,
)
from models.errors import ChecksumError, DataFileError, DownloadError, ModelFileError
from models.layers import (
    ACTIVATIONS,
    Activation,
    AvgPool2D,
    BatchNorm2D,
    Conv2D,
    Dropout,
    Flatten,
    Layer,
    Linear,
    MaxPool2D,
)
from models.network import CNN, LOSS_HEADS, LOSSES, MLP, Model, TwoLayerNet
from models.optim import SGD, Adam, Momentum, Optimizer
from models.serialize import load, save
from models.training import History, batches, evaluate, fit

__all__ = [
    "Model",
    "MLP",
    "TwoLayerNet",
    "CNN",
    "Layer",
    "Linear",
    "Activation",
    "Conv2D",
    "MaxPool2D",
    "AvgPool2D",
    "BatchNorm2D",
    "Dropout",
    "Flatten",
    "ACTIVATIONS",
    "LOSSES",
    "LOSS_HEADS",
    "Optimizer",
    "SGD",
    "Momentum",
    "Adam",
    "fit",
    "evaluate",
    "History",
    "batches",
    "save",
    "load",
    "read_idx",
    "write_idx",
    "load_idx_directory",
    "load_mnist",
    "load_fashion_mnist",
    "scale_images",
    "one_hot",
    "MNIST_FILES",
    "MNIST_SHA256",
    "MNIST_MIRRORS",
    "FASHION_MNIST_DIR",
    "DataFileError",
    "DownloadError",
    "ChecksumError",
    "ModelFileError",
]
