"""Training: minibatch loop, evaluation, and the per-epoch history.

::

    history = fit(model, Adam(model.parameters()), x, y, epochs=5, batch_size=128,
                  validation=(X_test, y_test), seed=0)
    history.plot("curves.png")

A progress bar (tqdm) shows each epoch's batches and the running loss when
the output is a terminal; matplotlib draws the curves. Both are optional
extras (``pip install 'gategraph[train]'``).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from models.network import Model
from models.optim import Optimizer

__all__ = ["fit", "evaluate", "History", "batches"]

_EXTRA_HINT = "pip install 'gategraph[train]'"


class History:
    """Per-epoch figures of a training run: loss, accuracy, validation ones, seconds.

    ``history["loss"]`` is the list over epochs; ``history.records`` the rows.
    Accuracy entries are None for a model that is not a classifier, and
    validation entries are absent without validation data.

    Examples
    --------
    >>> h = History()
    >>> h.append(epoch=1, loss=0.5, accuracy=0.8, seconds=1.0)
    >>> h.append(epoch=2, loss=0.3, accuracy=0.9, seconds=1.0)
    >>> h["loss"], h.last["accuracy"], len(h)
    ([0.5, 0.3], 0.9, 2)
    """

    def __init__(self, records: list[dict] | None = None):
        self.records: list[dict] = list(records or [])

    def append(self, **record) -> None:
        self.records.append(record)

    def __getitem__(self, key: str) -> list:
        return [record.get(key) for record in self.records]

    def __len__(self) -> int:
        return len(self.records)

    @property
    def last(self) -> dict:
        """The last epoch's record."""
        if not self.records:
            raise IndexError("the history is empty: no epoch has finished")
        return self.records[-1]

    def to_dict(self) -> dict[str, list]:
        """Column lists by key, ready for ``json.dump``."""
        keys = list(dict.fromkeys(key for record in self.records for key in record))
        return {key: self[key] for key in keys}

    def plot(self, path: str | os.PathLike | None = None, title: str | None = None):
        """Draw the loss and accuracy curves; write them to ``path`` (PNG, SVG, PDF by suffix).

        Returns the matplotlib ``Figure``. Uses no pyplot and no display, so
        it works on a server and leaves pyplot's state alone.

        Raises
        ------
        ImportError
            matplotlib is not installed (it comes with the ``train`` extra).
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as error:
            raise ImportError(f"History.plot needs matplotlib: {_EXTRA_HINT}") from error
        epochs = self["epoch"]
        has_accuracy = any(value is not None for value in self["accuracy"])
        figure = Figure(figsize=(10 if has_accuracy else 5.5, 4), layout="constrained")
        panels = figure.subplots(1, 2 if has_accuracy else 1, squeeze=False)[0]
        for axes, key, label in zip(panels, ("loss", "accuracy"), ("loss", "accuracy")):
            axes.plot(epochs, self[key], "o-", label=f"training {label} (mean over the epoch)")
            if any(value is not None for value in self[f"val_{key}"]):
                axes.plot(epochs, self[f"val_{key}"], "s--", label=f"validation {label}")
            axes.set_xlabel("epoch")
            axes.set_ylabel(label)
            axes.set_title(label.capitalize())
            axes.grid(True, alpha=0.3)
            axes.legend()
            if len(epochs) <= 20:
                axes.set_xticks(epochs)
        if title:
            figure.suptitle(title)
        if path is not None:
            figure.savefig(path, dpi=100)
        return figure

    def __repr__(self) -> str:
        if not self.records:
            return "History(0 epochs)"
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last.items() if isinstance(v, float))
        return f"History({len(self)} epochs; last: {last})"


def batches(n: int, batch_size: int, rng: np.random.Generator | None = None):
    """Index arrays of the minibatches of ``n`` examples, shuffled when ``rng`` is given.

    Examples
    --------
    >>> [b.tolist() for b in batches(5, 2)]
    [[0, 1], [2, 3], [4]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


def fit(
    model: Model,
    optimizer: Optimizer,
    x: ArrayLike,
    y: ArrayLike,
    *,
    epochs: int = 1,
    batch_size: int = 64,
    validation: tuple | None = None,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    progress: bool | None = None,
    callback: Callable[[dict], None] | None = None,
) -> History:
    """Train ``model`` with minibatches: forward, backward, ``optimizer.step()`` per batch.

    The model runs in training mode (dropout, batch statistics) and is left
    in the mode it had before.

    Parameters
    ----------
    model : Model
    optimizer : Optimizer
        Built on ``model.parameters()``.
    x : array (N, n_in)
        Cast once to the model's dtype.
    y : array
        Targets: integer labels (N,) or rows, see :meth:`Model.targets`.
    epochs, batch_size : int
        ``batch_size >= N`` is the chapter's full-batch gradient descent.
    validation : (x, y), optional
        Evaluated after each epoch: ``val_loss``, ``val_accuracy``.
    shuffle : bool
        Visit the examples in a new random order each epoch.
    seed : int or Generator, optional
        Seeds the shuffling; the same seed and model seed give the same run.
    progress : bool, optional
        Show a tqdm bar per epoch with the running loss. By default only when
        standard error is a terminal and tqdm is installed.
    callback : callable, optional
        Called with each epoch's record (a dict) when the epoch ends.

    Returns
    -------
    History
        Per epoch: ``epoch``, ``loss`` and ``accuracy`` (over that epoch's
        batches, as they were computed while training), ``val_loss``,
        ``val_accuracy``, and ``seconds`` of training (evaluation excluded).

    Raises
    ------
    FloatingPointError
        The loss became inf or nan: the learning rate is probably too high.
    """
    _count("fit", "epochs", epochs, 0)
    _count("fit", "batch_size", batch_size, 1)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"fit needs an optimiser such as Adam(model.parameters()), got {optimizer!r}")
    owned = {id(node) for node in model.parameters()}
    if not any(id(node) in owned for node in optimizer.params):
        raise ValueError(
            f"the optimiser updates none of this {model.architecture}'s parameters: build it on model.parameters()"
        )
    inputs, targets, labels = _examples(model, x, y, "fit")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError(f"fit validation must be a pair (x, y), got {type(validation).__name__}")
        _examples(model, *validation, "fit validation")  # refused now, not after an epoch of training
    rng = np.random.default_rng(seed) if shuffle else None
    bar_factory = _progress_bar(progress)
    history = History()
    with model.in_mode(True):  # dropout drops and batch norm learns its statistics; evaluate() switches to eval
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            total_loss, correct, seen = 0.0, 0, 0
            indices = batches(len(inputs), batch_size, rng)
            bar = bar_factory(total=len(indices), desc=f"epoch {epoch}/{epochs}") if bar_factory else None
            for index in indices:
                batch_loss, output = model.forward(inputs[index], targets[index])
                if not math.isfinite(batch_loss):
                    if bar is not None:
                        bar.close()
                    raise FloatingPointError(
                        f"the loss became {batch_loss} in epoch {epoch} after {seen} examples: "
                        f"training diverged; lower the learning rate (now {optimizer.lr})"
                    )
                model.backward()
                optimizer.step()
                total_loss += batch_loss * _weight(model, len(index))
                seen += len(index)
                if labels is not None:
                    correct += int(np.count_nonzero(model.classes(output) == labels[index]))
                if bar is not None:
                    bar.set_postfix(loss=f"{total_loss / seen:.4f}", refresh=False)
                    bar.update(1)
            if bar is not None:
                bar.close()
            record = {
                "epoch": epoch,
                "loss": total_loss / max(seen, 1),
                "accuracy": correct / max(seen, 1) if labels is not None else None,
                "seconds": time.perf_counter() - start,
            }
            if validation is not None:
                scores = evaluate(model, *validation)
                record["val_loss"], record["val_accuracy"] = scores["loss"], scores["accuracy"]
            history.append(**record)
            if callback is not None:
                callback(record)
    return history


def evaluate(model: Model, x: ArrayLike, y: ArrayLike, batch_size: int = 2000) -> dict:
    """Loss and accuracy of ``model`` on ``x``, ``y``, in batches, in evaluation mode, without training.

    Returns
    -------
    dict
        ``{"loss": mean loss per example, "accuracy": fraction correct}``;
        accuracy is None for a model that is not a classifier.

    Examples
    --------
    >>> from models import MLP
    >>> model = MLP([2, 2], seed=0)
    >>> sorted(evaluate(model, np.eye(2), np.array([0, 1])))
    ['accuracy', 'loss']
    """
    _count("evaluate", "batch_size", batch_size, 1)
    inputs, targets, labels = _examples(model, x, y, "evaluate")
    total_loss, correct = 0.0, 0
    with model.in_mode(False):
        for start in range(0, len(inputs), batch_size):
            rows = slice(start, start + batch_size)  # in order: a view of the data, not a copy
            batch_loss, output = model.forward(inputs[rows], targets[rows], keep=False)  # no backward follows
            total_loss += batch_loss * _weight(model, min(batch_size, len(inputs) - start))
            if labels is not None:
                correct += int(np.count_nonzero(model.classes(output) == labels[rows]))
    n = len(inputs)
    return {"loss": total_loss / n, "accuracy": correct / n if labels is not None else None}


def _count(function: str, name: str, value, minimum: int) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{function} {name} must be a whole number >= {minimum}, got {value!r}")


def _examples(model: Model, x: ArrayLike, y: ArrayLike, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``X``, targets and labels (None unless a classifier) as the model takes them, refused unless they pair up."""
    x = model.inputs(x)
    targets = model.targets(y)
    if len(targets) != len(x):
        raise ValueError(f"{what}: x has {len(x)} examples but y has {len(targets)}")
    if not len(x):
        raise ValueError(f"{what} needs at least one example, got x of shape {x.shape}")
    return x, targets, model.labels(y) if model.classifier else None


def _weight(model: Model, count: int) -> int:
    """What turns the loss of a batch of ``count`` examples into a sum over them."""
    return 1 if model.reduction == "sum" else count


def _progress_bar(progress: bool | None):
    """tqdm's class when a bar should show, else None."""
    if progress is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError as error:
        if progress:
            raise ImportError(f"progress=True needs tqdm: {_EXTRA_HINT}") from error
        return None
    if progress is None and not sys.stderr.isatty():
        return None
    return lambda **options: tqdm(unit="batch", leave=False, dynamic_ncols=True, **options)
