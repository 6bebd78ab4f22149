"""Extreme inputs: finite values and gradients wherever the math has them, and no numpy warnings.

The suite turns numpy's RuntimeWarnings into errors (pyproject.toml), so an
overflow or a division by zero inside any of these gates fails the test.
"""

import numpy as np
import pytest

import gates

EXTREMES = np.array([-1e3, -30.0, -1e-300, 0.0, 1e-300, 1.0, 30.0, 1e3])
POSITIVE_EXTREMES = np.array([1e-300, 1e-8, 1.0, 1e8, 1e300])


def labels_for(logits):
    return np.arange(len(logits)) % logits.shape[-1]


CASES = {
    "sigmoid": (gates.SigmoidGate(), [EXTREMES]),
    "tanh": (gates.TanhGate(), [EXTREMES]),
    "exp of very negative": (gates.ExpGate(), [np.array([-1e3, -745.0, -1e-300, 0.0])]),
    "log of tiny and huge": (gates.LogGate(), [POSITIVE_EXTREMES]),
    "sqrt of tiny and huge": (gates.SqrtGate(), [POSITIVE_EXTREMES]),
    "softmax": (gates.SoftmaxGate(), [np.array([[-1e3, 0.0, 1e3], [1e3, 1e3, 1e3], [-1e3, -1e3, -1e3]])]),
    "leaky relu": (gates.LeakyReLUGate(), [EXTREMES]),
    "power 2 of large and tiny": (gates.PowerGate(2), [np.array([-1e150, -1e-300, 1e-150, 1e150])]),
    "power -1 away from 0": (gates.PowerGate(-1), [np.array([-1e300, -1e-150, 1e-150, 1e300])]),
    "divide by tiny and huge": (gates.DivideGate(), [np.array([1.0, 1e-300, 1e300]), np.array([1e-150, 1e300, 1e300])]),
    "bce on logits": (gates.BinaryCrossEntropyWithLogitsGate(), [EXTREMES, (EXTREMES > 0).astype(float)]),
    "bce on logits, wrong side": (gates.BinaryCrossEntropyWithLogitsGate(), [EXTREMES, (EXTREMES < 0).astype(float)]),
    "bce on probabilities 0 and 1": (
        gates.BinaryCrossEntropyGate(),
        [np.array([0.0, 1e-300, 1.0, 1.0]), np.array([1.0, 1.0, 0.0, 1.0])],
    ),
    "softmax cross-entropy": (
        gates.SoftmaxCrossEntropyGate(),
        [np.array([[-1e3, 0.0, 1e3], [1e3, 1e3, 1e3], [1e3, -1e3, 0.0]]), np.array([0, 1, 1])],
    ),
    "softmax cross-entropy, soft labels": (
        gates.SoftmaxCrossEntropyGate(),
        [np.array([[-1e3, 0.0, 1e3], [1e3, 1e3, 1e3]]), np.array([[0.5, 0.25, 0.25], [1.0, 0.0, 0.0]])],
    ),
    "mse": (gates.MSELossGate(), [np.array([1e100, -1e100, 0.0]), np.array([-1e100, 1e100, 1e-300])]),
}


@pytest.mark.parametrize("case", CASES)
def test_extreme_inputs_give_finite_values_and_gradients(case):
    gate, inputs = CASES[case]
    out = gate.forward(*inputs)
    assert np.all(np.isfinite(out)), f"{case}: forward gave {out}"
    grads = gate.backward(np.ones_like(out))
    for grad in grads:
        if grad is not None:
            assert np.all(np.isfinite(grad)), f"{case}: backward gave {grad}"


def test_values_at_the_extremes_are_right_not_just_finite():
    assert gates.SigmoidGate().forward(-1e3) == 0.0 and gates.SigmoidGate().forward(1e3) == 1.0
    np.testing.assert_allclose(gates.SigmoidGate().forward(-30.0), np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-14)
    loss = gates.BinaryCrossEntropyWithLogitsGate("sum").forward(np.array([1e3]), np.array([0.0]))
    assert loss == 1e3  # log(1 + e^1000) = 1000 exactly in float64
    np.testing.assert_allclose(gates.LogGate().forward(1e-300), -690.7755278982137, rtol=1e-15)
