"""check_finite: stop at the first NaN or infinity, name where it came from; off by default."""

import numpy as np
import pytest

from gates import Gate
from graph import ComputationalGraph, NonFiniteError


class ExplodingGradientGate(Gate):
    """Identity whose backward divides by zero where x == 0."""

    def forward(self, x):
        self.x = x
        return x

    def backward(self, upstream):
        with np.errstate(divide="ignore"):
            return (upstream / np.abs(self.x),)


def test_forward_stops_at_the_first_gate_with_a_non_finite_value():
    g = ComputationalGraph()
    x = g.input("x")
    logs = x.log()
    (logs * 2.0).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        with pytest.raises(
            NonFiniteError,
            match=r"forward of node 'log_1' \(LogGate\) produced 2 of 3 values non-finite \(nan 1, -inf 1\), "
            r"shape \(3,\); its inputs: x \(3,\) min -1 max 2 mean 0\.3333",
        ):
            g.forward(x=np.array([-1.0, 0.0, 2.0]), check_finite=True)
        assert logs.value is None  # nothing committed by the failed pass
        g.forward(x=np.array([-1.0, 0.0, 2.0]))  # off by default: the values go through
    assert np.isnan(logs.value[0])


def test_backward_names_the_gate_that_sent_a_non_finite_gradient_and_its_input():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(ExplodingGradientGate(), x.tanh(), name="explode").sum()
    g.forward(x=np.array([0.0, 1.0]))
    with pytest.raises(
        NonFiniteError,
        match=r"backward of node 'explode' \(ExplodingGradientGate\) sent 1 of 2 values non-finite \(\+inf 1\), "
        r"shape \(2,\) to input 0 \('tanh_1', value \(2,\) min 0 max 0\.7616",
    ):
        g.backward(check_finite=True)
    assert np.isinf(g.backward()["x"][0])  # off by default


def test_check_finite_passes_finite_graphs_unchanged():
    g = ComputationalGraph()
    x = g.input("x")
    (x * x).sum()
    assert g.forward(x=np.array([1.0, 2.0]), check_finite=True) == 5.0
    np.testing.assert_array_equal(g.backward(check_finite=True)["x"], [2.0, 4.0])
