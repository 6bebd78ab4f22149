"""Bad gate arguments and inputs: bad axes, exponents, alpha, loss labels and shapes. Each raises our own
error naming what is wrong; a correct call right after gives the correct result."""

import numpy as np
import pytest
from catalogue import Case, check_case

import gates
from graph import ComputationalGraph, DTypeError, GateError


def sugar_case(bad, error, match, good, feed, expected):
    """``bad(x)`` builds a gate on input x, refused now or at forward; ``good(x)`` on ``feed`` gives ``expected``."""

    def build():
        g = ComputationalGraph()
        x = g.input("x")

        def call():
            bad(x)
            g.forward(x=feed)

        return g, call

    def check(g):
        out = good(g["x"])
        return np.asarray(g.forward(x=feed, outputs=out)).tolist()

    return Case(build, error, match, check, expected)


X = np.arange(24.0).reshape(2, 3, 4)
M = np.arange(6.0).reshape(2, 3)


def loss_case(gate, logits, labels, match, good_labels, expected):
    def build():
        g = ComputationalGraph()
        z, y = g.input("z"), g.input("y", requires_grad=False)
        g.add_gate(gate, z, y, name="loss")
        return g, lambda: g.forward(z=logits, y=labels)

    def good(g):
        return round(float(g.forward(z=np.zeros((2, 2)), y=good_labels)), 6)

    return Case(build, GateError, rf"node 'loss' \({type(gate).__name__}\).*{match}", good, expected)


T = X.transpose(2, 0, 1).tolist()
CASES = {
    "transpose axes repeat after normalising": sugar_case(
        lambda x: x.transpose((0, -3, 1)),
        GateError,
        r"TransposeGate axes \(0, -3, 1\) name axis 0 twice",
        lambda x: x.transpose((-1, 0, 1)),
        X,
        T,
    ),
    "transpose axes repeat literally": sugar_case(
        lambda x: x.transpose((1, 1, 0)), GateError, r"name axis 1 twice", lambda x: x.transpose(2, 0, 1), X, T
    ),
    "transpose axis out of range": sugar_case(
        lambda x: x.transpose((0, 1, 3)),
        GateError,
        r"axis 3 is out of range for an input with ndim 3",
        lambda x: x.transpose((-1, 0, 1)),
        X,
        T,
    ),
    "transpose too few axes": sugar_case(
        lambda x: x.transpose((0, 1)),
        GateError,
        r"name 2 axes, the input has ndim 3",
        lambda x: x.transpose((-1, 0, 1)),
        X,
        T,
    ),
    "transpose axes a string": sugar_case(
        lambda x: x.transpose("ab"),
        DTypeError,
        r"TransposeGate axes must be a tuple of ints",
        lambda x: x.transpose((-1, 0, 1)),
        X,
        T,
    ),
    "sum axis out of range": sugar_case(
        lambda x: x.sum(axis=2),
        GateError,
        r"SumGate axis 2 is out of range for an input with ndim 2",
        lambda x: x.sum(axis=-1),
        M,
        [3.0, 12.0],
    ),
    "sum axis negative out of range": sugar_case(
        lambda x: x.sum(axis=-3),
        GateError,
        r"SumGate axis -3 is out of range",
        lambda x: x.sum(axis=-2),
        M,
        [3.0, 5.0, 7.0],
    ),
    "sum axes repeat": sugar_case(
        lambda x: x.sum(axis=(1, -1)),
        GateError,
        r"SumGate axes \(1, -1\) name axis 1 twice",
        lambda x: x.sum(axis=(0, -1)),
        M,
        15.0,
    ),
    "sum axis a float": sugar_case(
        lambda x: x.sum(axis=1.0),
        DTypeError,
        r"SumGate axis must be an int or a tuple of ints, got 1.0",
        lambda x: x.sum(axis=1),
        M,
        [3.0, 12.0],
    ),
    "sum axis a bool": sugar_case(
        lambda x: x.sum(axis=True), DTypeError, r"got True", lambda x: x.sum(axis=1), M, [3.0, 12.0]
    ),
    "sum keepdims a string": sugar_case(
        lambda x: x.sum(keepdims="no"), DTypeError, r"keepdims must be True or False", lambda x: x.sum(), M, 15.0
    ),
    "mean axis out of range": sugar_case(
        lambda x: x.mean(axis=(0, 2)),
        GateError,
        r"MeanGate axis 2 is out of range for an input with ndim 2",
        lambda x: x.mean(axis=(0, -1)),
        M,
        2.5,
    ),
    "mean axes repeat": sugar_case(
        lambda x: x.mean(axis=(0, 0)),
        GateError,
        r"MeanGate axes \(0, 0\) name axis 0 twice",
        lambda x: x.mean(axis=0),
        M,
        [1.5, 2.5, 3.5],
    ),
    "softmax axis out of range": sugar_case(
        lambda x: x.softmax(axis=2),
        GateError,
        r"SoftmaxGate axis 2 is out of range for an input with ndim 2",
        lambda x: x.softmax(axis=0),
        np.zeros((2, 2)),
        [[0.5, 0.5], [0.5, 0.5]],
    ),
    "softmax of a 0-d input": sugar_case(
        lambda x: x.softmax(), GateError, r"a 0-d input has no axes", lambda x: x.exp(), 0.0, 1.0
    ),
    "softmax over two axes": sugar_case(
        lambda x: x.softmax(axis=(0, 1)),
        DTypeError,
        r"SoftmaxGate axis must be one int",
        lambda x: x.softmax(axis=-1),
        np.zeros(2),
        [0.5, 0.5],
    ),
    "complex exponent": sugar_case(
        lambda x: x ** (2 + 0j),
        DTypeError,
        r"PowerGate exponent must be a real number .*\(2\+0j\)",
        lambda x: x**2,
        3.0,
        9.0,
    ),
    "bool exponent": sugar_case(lambda x: x**True, DTypeError, r"got True of type bool", lambda x: x**2, 3.0, 9.0),
    "string exponent": sugar_case(lambda x: x ** "2", DTypeError, r"got '2' of type str", lambda x: x**2, 3.0, 9.0),
    "array exponent": sugar_case(
        lambda x: x ** np.array([2.0]), DTypeError, r"of type ndarray", lambda x: x ** np.float64(2), 3.0, 9.0
    ),
    "complex alpha": sugar_case(
        lambda x: x.leaky_relu(0.1j),
        DTypeError,
        r"LeakyReLUGate alpha must be a real number",
        lambda x: x.leaky_relu(np.float64(0.5)),
        -2.0,
        -1.0,
    ),
    "string alpha": sugar_case(
        lambda x: x.leaky_relu("0.1"),
        DTypeError,
        r"alpha must be a real number .*got '0.1'",
        lambda x: x.leaky_relu(0.5),
        -2.0,
        -1.0,
    ),
    "float class indices": loss_case(
        gates.SoftmaxCrossEntropyGate(),
        np.zeros((2, 2)),
        np.array([0.0, 1.0]),
        r"class indices must be integers",
        np.array([0, 1]),
        round(float(np.log(2)), 6),
    ),
    "negative class index": loss_case(
        gates.SoftmaxCrossEntropyGate(),
        np.zeros((2, 2)),
        np.array([0, -1]),
        r"labels must lie in \[0, 2\)",
        np.array([0, 1]),
        round(float(np.log(2)), 6),
    ),
    "logits with no classes": loss_case(
        gates.SoftmaxCrossEntropyGate(),
        np.zeros((2, 0)),
        np.zeros(2, int),
        r"at least one class, got \(2, 0\)",
        np.array([1, 1]),
        round(float(np.log(2)), 6),
    ),
    "3-d logits": loss_case(
        gates.SoftmaxCrossEntropyGate("sum"),
        np.zeros((2, 2, 2)),
        np.zeros((2, 2), int),
        r"must be \(N, C\) or \(C,\)",
        np.array([0, 1]),
        round(float(2 * np.log(2)), 6),
    ),
    "label rows of the wrong width": loss_case(
        gates.SoftmaxCrossEntropyGate(),
        np.zeros((2, 2)),
        np.ones((2, 3)) / 3,
        r"label rows \(2, 3\)",
        np.full((2, 2), 0.5),
        round(float(np.log(2)), 6),
    ),
    "bce targets of another shape": loss_case(
        gates.BinaryCrossEntropyWithLogitsGate("batchmean"),
        np.zeros((2, 2)),
        np.zeros(2),
        r"predictions \(2, 2\) and targets \(2,\)",
        np.ones((2, 2)),
        round(float(2 * np.log(2)), 6),
    ),
}


def test_the_catalogue_is_large():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_refused_clearly_and_the_graph_stays_usable(name):
    check_case(CASES[name])
