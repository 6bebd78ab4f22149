"""Loss gates: mean squared error, binary cross-entropy, softmax cross-entropy.

Every loss reduces its per-element losses with ``reduction``:

- ``"mean"``: the mean over all of them (PyTorch's default);
- ``"sum"``: their sum;
- ``"batchmean"``: their sum divided by the batch size N, the length of the
  first axis. This is the seed chapter's BCE, summed over the outputs and
  averaged over the examples, whose gradient gives ``dW = (1/N) dZᵀ A``.

A mean over nothing (an empty batch) is nan, as in PyTorch, without a
warning; a sum over nothing is 0. The gradients are then empty arrays.
"""

from __future__ import annotations

import math

import numpy as np

from gates.base import Gate, shape_of, shift_by_max, tangent_sum
from gates.gradient import LogSoftmaxGate, LossScaleGate, OneHotGate, apply

__all__ = [
    "MSELossGate",
    "BinaryCrossEntropyGate",
    "BinaryCrossEntropyWithLogitsGate",
    "SoftmaxCrossEntropyGate",
]

REDUCTIONS = ("mean", "sum", "batchmean")
_LOG_CLAMP = -100.0  # BCE's logs are clamped here, as PyTorch's BCELoss does


class _LossGate(Gate):
    """A loss with a ``reduction``; ``scale`` is d(reduced)/d(element)."""

    def __init__(self, reduction: str = "mean"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__} reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def _reduce(self, losses):
        """Reduce the per-element losses and remember the gradient's scale."""
        if self.reduction == "sum":
            self.scale = 1
        else:
            count = np.size(losses) if self.reduction == "mean" else (np.shape(losses)[0] if np.ndim(losses) else 1)
            # 0 * nan is nan, PyTorch's mean of nothing, where 0 / 0 would warn or raise.
            self.scale = 1 / count if count else math.nan
        total = np.asarray(losses).sum()  # the method: np.sum's dispatch costs as much again on a batch's losses
        return total * self.scale if self.scale != 1 else total

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


def _check_same_shape(gate: Gate, predictions, targets, what: str = "targets") -> None:
    if np.shape(predictions) != np.shape(targets):
        raise ValueError(
            f"{type(gate).__name__} of predictions {np.shape(predictions)} and {what} {np.shape(targets)}: "
            "shapes must be equal"
        )


class MSELossGate(_LossGate):
    """Mean squared error between predictions and targets.

    forward   L = reduce((P - Y)²)
    backward  dL/dP = 2 (P - Y) · scale · upstream
              dL/dY = -dL/dP
    jvp       dL = Σ 2 (P - Y)(dP - dY) · scale
    """

    symbol = "MSE"
    short_name = "mse"
    local_gradient = ("∂{out}/∂{in0} = 2({in0} - {in1})/n", "")

    def forward(self, predictions, targets):
        _check_same_shape(self, predictions, targets)
        self.difference = predictions - targets
        return self._reduce(self.difference * self.difference)

    def backward(self, upstream):
        want_p, want_y = self.needs_input_grad
        grad = self.difference * (2 * self.scale * upstream)
        return (grad if want_p else None, -grad if want_y else None)

    def jvp(self, tangent_p, tangent_y):
        tangent_difference = tangent_sum(
            shape_of(self.difference), tangent_p, None if tangent_y is None else -tangent_y
        )
        return np.sum(self.difference * tangent_difference) * (2 * self.scale)

    def gradient(self, upstream, output, predictions, targets):
        want_p, want_y = self.needs_input_grad
        factor = upstream * apply(LossScaleGate(self.reduction), predictions)
        grad = (predictions - targets) * (2 * factor)
        return (grad if want_p else None, -grad if want_y else None)


class BinaryCrossEntropyGate(_LossGate):
    """Binary cross-entropy on probabilities, as the seed chapter writes it.

    forward   L = reduce(-(Y log A + (1 - Y) log(1 - A)))
    backward  dL/dA = (A - Y) / (A (1 - A)) · scale · upstream
              dL/dY = -(log A - log(1 - A)) · scale · upstream
    jvp       dL = Σ [(A - Y) / (A (1 - A)) dA - (log A - log(1 - A)) dY] · scale

    Followed by a sigmoid, ``dL/dZ = A - Y`` (times ``scale``): the chapter's
    ``∂Z = A - Y``. As in PyTorch's BCELoss, each log is clamped at -100 and
    the denominator ``A (1 - A)`` at 1e-12, so ``A = 0`` or ``1`` stays finite;
    prefer :class:`BinaryCrossEntropyWithLogitsGate` on logits for training.
    """

    symbol = "BCE"
    short_name = "bce"
    local_gradient = ("∂{out}/∂{in0} = ({in0} - {in1}) / ({in0}(1 - {in0}))", "")

    def forward(self, probabilities, targets):
        _check_same_shape(self, probabilities, targets)
        self.a, self.y = probabilities, targets
        self.log_a, self.log_1ma = _clamped_log(probabilities), _clamped_log(1 - probabilities)
        return self._reduce(-(targets * self.log_a + (1 - targets) * self.log_1ma))

    def backward(self, upstream):
        want_a, want_y = self.needs_input_grad
        a, y, factor = self.a, self.y, self.scale * upstream
        return (
            (a - y) / np.maximum(a * (1 - a), 1e-12) * factor if want_a else None,
            (self.log_1ma - self.log_a) * factor if want_y else None,
        )

    def jvp(self, tangent_a, tangent_y):
        a, y = self.a, self.y
        total = 0.0
        if tangent_a is not None:
            total += np.sum((a - y) / np.maximum(a * (1 - a), 1e-12) * tangent_a)
        if tangent_y is not None:
            total += np.sum((self.log_1ma - self.log_a) * tangent_y)
        return total * self.scale

    def gradient(self, upstream, output, probabilities, targets):
        want_a, want_y = self.needs_input_grad
        a, factor = probabilities, upstream * apply(LossScaleGate(self.reduction), probabilities)
        grad_a = grad_y = None
        if want_a:
            grad_a = (a - targets) / (a * (1 - a)).maximum(1e-12) * factor
        if want_y:
            grad_y = ((1 - a).log().maximum(_LOG_CLAMP) - a.log().maximum(_LOG_CLAMP)) * factor
        return grad_a, grad_y


def _clamped_log(x):
    """``max(log x, -100)``, with log 0 = -inf clamped too and no divide-by-zero warning.

    Clamping the log rather than flooring ``x`` at exp(-100) keeps the clamp at
    -100 in float32, where exp(-100) is a subnormal whose log is -99.97.
    """
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(x), _LOG_CLAMP)


class BinaryCrossEntropyWithLogitsGate(_LossGate):
    """Sigmoid followed by binary cross-entropy, fused and stable, on logits Z.

    forward   L = reduce(max(Z, 0) - Z Y + log(1 + exp(-|Z|)))
    backward  dL/dZ = (σ(Z) - Y) · scale · upstream
              dL/dY = -Z · scale · upstream
    jvp       dL = Σ [(σ(Z) - Y) dZ - Z dY] · scale

    The same value as ``BinaryCrossEntropyGate`` after ``SigmoidGate``, with
    no overflow for any Z and the chapter's simple gradient ``A - Y``.
    """

    symbol = "σ+BCE"
    short_name = "bce_logits"
    local_gradient = ("∂{out}/∂{in0} = σ({in0}) - {in1}", "")

    def forward(self, logits, targets):
        _check_same_shape(self, logits, targets)
        self.z, self.y = logits, targets
        return self._reduce(np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits))))

    def backward(self, upstream):
        want_z, want_y = self.needs_input_grad
        factor = self.scale * upstream
        sigmoid = np.exp(-np.logaddexp(0, -self.z))
        return (
            (sigmoid - self.y) * factor if want_z else None,
            -self.z * factor if want_y else None,
        )

    def jvp(self, tangent_z, tangent_y):
        total = 0.0
        if tangent_z is not None:
            sigmoid = np.exp(-np.logaddexp(0, -self.z))
            total += np.sum((sigmoid - self.y) * tangent_z)
        if tangent_y is not None:
            total -= np.sum(self.z * tangent_y)
        return total * self.scale

    def gradient(self, upstream, output, logits, targets):
        want_z, want_y = self.needs_input_grad
        factor = upstream * apply(LossScaleGate(self.reduction), logits)
        return (
            (logits.sigmoid() - targets) * factor if want_z else None,
            -logits * factor if want_y else None,
        )


class SoftmaxCrossEntropyGate(_LossGate):
    """Softmax followed by cross-entropy, fused and stable, on logits Z.

    forward   L = reduce(-Σ_c Y_c log softmax(Z)_c)     per example (row)
    backward  dL/dZ = (softmax(Z) Σ_c Y_c - Y) · scale · upstream
              dL/dY = -log softmax(Z) · scale · upstream   (one-hot or soft labels)
    jvp       dL = Σ [(softmax(Z) Σ_c Y_c - Y) dZ - log softmax(Z) dY] · scale

    Labels are either integer class indices of shape (N,), or one-hot or
    probability rows of shape (N, C) like the logits; for rows that sum to 1
    the gradient is the familiar ``softmax(Z) - Y``. Integer labels have no
    gradient (``None``). The reduction runs over the N per-example losses, so
    "mean" is PyTorch's ``CrossEntropyLoss`` default.
    """

    symbol = "softmax+CE"
    short_name = "softmax_ce"
    local_gradient = ("∂{out}/∂{in0} = softmax({in0}) - onehot({in1})", "")

    def forward(self, logits, labels):
        logits, labels = np.asarray(logits), np.asarray(labels)
        if logits.ndim not in (1, 2) or logits.shape[-1] == 0:
            raise ValueError(
                f"SoftmaxCrossEntropyGate logits must be (N, C) or (C,) with at least one class, got {logits.shape}"
            )
        self.integer_labels = labels.dtype.kind in "iu"
        if self.integer_labels:
            if labels.shape != logits.shape[:-1]:
                raise ValueError(
                    f"SoftmaxCrossEntropyGate of logits {logits.shape} and integer labels {labels.shape}: "
                    f"expected labels of shape {logits.shape[:-1]}"
                )
            classes = logits.shape[-1]
            if labels.size and (labels.min() < 0 or labels.max() >= classes):
                raise ValueError(
                    f"SoftmaxCrossEntropyGate labels must lie in [0, {classes}), got {labels.min()}..{labels.max()}"
                )
        elif labels.shape == logits.shape[:-1]:
            raise ValueError(
                f"SoftmaxCrossEntropyGate of logits {logits.shape} and labels {labels.shape} of dtype {labels.dtype}: "
                "class indices must be integers (labels.astype(np.int64)); or give one-hot rows like the logits"
            )
        else:
            _check_same_shape(self, logits, labels, what="label rows")
        # One exp serves both passes: softmax = exp(shifted) / Σ exp(shifted), log softmax = shifted - log Σ.
        shifted = shift_by_max(logits, -1)
        self.softmax = np.exp(shifted)
        totals = self.softmax.sum(axis=-1, keepdims=True)
        self.softmax /= totals  # the gate's own new array
        log_totals = np.log(totals)
        self.labels = labels
        if self.integer_labels:
            self.label_cells = (np.arange(len(labels)), labels) if logits.ndim == 2 else (labels,)
            return self._reduce(log_totals[..., 0] - shifted[self.label_cells])  # -log softmax at each label
        # A class with no label mass adds 0 · log softmax = 0, also where logits spread wider than the
        # largest float make its log softmax -inf: clamped to the most negative float, 0 · -inf is not nan.
        self.log_softmax = np.maximum(shifted - log_totals, np.finfo(shifted.dtype).min)
        return self._reduce(-np.sum(labels * self.log_softmax, axis=-1))

    def backward(self, upstream):
        want_z, want_y = self.needs_input_grad
        factor = self.scale * upstream
        grad_z = grad_y = None
        if want_z:
            grad_z = self.softmax.copy()
            if self.integer_labels:
                grad_z[self.label_cells] -= 1
            else:
                grad_z *= np.sum(self.labels, axis=-1, keepdims=True)
                grad_z -= self.labels
            grad_z *= factor
        if want_y and not self.integer_labels:
            grad_y = -self.log_softmax * factor
        return grad_z, grad_y

    def jvp(self, tangent_logits, tangent_labels):
        total = 0.0
        if tangent_logits is not None:
            if self.integer_labels:
                total += np.sum(self.softmax * tangent_logits)
                total -= np.sum(np.take_along_axis(tangent_logits, self.labels[..., np.newaxis], axis=-1))
            else:
                label_mass = np.sum(self.labels, axis=-1, keepdims=True)
                total += np.sum(self.softmax * label_mass * tangent_logits)
                total -= np.sum(self.labels * tangent_logits)
        if tangent_labels is not None and not self.integer_labels:  # integer labels have no tangent
            total -= np.sum(self.log_softmax * tangent_labels)
        return total * self.scale

    def gradient(self, upstream, output, logits, labels):
        want_z, want_y = self.needs_input_grad
        factor = upstream * apply(LossScaleGate(self.reduction, rows=True), logits)
        grad_z = grad_y = None
        if want_z:
            rows = apply(OneHotGate(), labels, logits)
            grad_z = (logits.softmax(-1) * rows.sum(-1, keepdims=True) - rows) * factor
        if want_y:  # rows of labels: integer labels take no gradient, so no graph asks for one
            grad_y = -apply(LogSoftmaxGate(-1), logits) * factor
        return grad_z, grad_y
