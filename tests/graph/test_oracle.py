"""Random expression graphs against HIPS autograd, an independent oracle.

hypothesis draws random DAGs over the gate set: inputs of random shapes that
broadcast together (0-d through 3-d), operations whose operands are any
earlier node (so nodes fan out and are reused, sometimes as both operands),
float64 throughout. The same expression is evaluated with autograd.numpy;
value and every input's gradient must agree. Add a new gate to OPERATIONS and
it is exercised here too.
"""

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gates import BinaryCrossEntropyWithLogitsGate, MSELossGate
from graph import ComputationalGraph

# name -> (arity, builds the node from operand nodes, the same on autograd arrays).
# Operations that need a safe domain say so in the formula: log(x² + 1), a / (b² + 1), exp(tanh x).
OPERATIONS = {
    "add": (2, lambda a, b: a + b, lambda a, b: a + b),
    "subtract": (2, lambda a, b: a - b, lambda a, b: a - b),
    "multiply": (2, lambda a, b: a * b, lambda a, b: a * b),
    "divide": (2, lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "maximum": (2, lambda a, b: a.maximum(b), anp.maximum),
    "minimum": (2, lambda a, b: a.minimum(b), anp.minimum),
    "negate": (1, lambda a: -a, lambda a: -a),
    "square": (1, lambda a: a**2, lambda a: a**2),
    "exp": (1, lambda a: a.tanh().exp(), lambda a: anp.exp(anp.tanh(a))),
    "log": (1, lambda a: (a * a + 1.0).log(), lambda a: anp.log(a * a + 1.0)),
    "sqrt": (1, lambda a: (a * a + 1.0).sqrt(), lambda a: anp.sqrt(a * a + 1.0)),
    "abs": (1, lambda a: a.abs(), anp.abs),
    "sigmoid": (1, lambda a: a.sigmoid(), lambda a: 1 / (1 + anp.exp(-a))),
    "tanh": (1, lambda a: a.tanh(), anp.tanh),
    "relu": (1, lambda a: a.relu(), lambda a: a * (a > 0)),
    "leaky_relu": (1, lambda a: a.leaky_relu(0.1), lambda a: anp.where(a > 0, a, 0.1 * a)),
    "softmax": (1, lambda a: a.softmax(-1), lambda a: _softmax(a)),
    "sum_keepdims": (1, lambda a: a.sum(axis=-1, keepdims=True), lambda a: anp.sum(a, axis=-1, keepdims=True)),
    "mean_keepdims": (1, lambda a: a.mean(axis=0, keepdims=True), lambda a: anp.mean(a, axis=0, keepdims=True)),
}
NEEDS_AN_AXIS = {"softmax", "sum_keepdims", "mean_keepdims"}


def _softmax(a):
    shifted = anp.exp(a - anp.max(a, axis=-1, keepdims=True))
    return shifted / anp.sum(shifted, axis=-1, keepdims=True)


@st.composite
def expression_graphs(draw):
    """A random DAG as a recipe: input shapes, then (operation, operand indices) steps."""
    full_shape = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple))
    input_shapes = []
    for _ in range(draw(st.integers(1, 3))):
        drop = draw(st.integers(0, len(full_shape)))  # drop leading axes, set others to 1: still broadcasts
        shape = tuple(1 if draw(st.booleans()) and draw(st.booleans()) else n for n in full_shape[drop:])
        input_shapes.append(shape)
    ranks = [len(s) for s in input_shapes]
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        names = [n for n in OPERATIONS if n not in NEEDS_AN_AXIS or max(ranks) > 0]
        name = draw(st.sampled_from(names))
        arity = OPERATIONS[name][0]
        candidates = [i for i, rank in enumerate(ranks) if name not in NEEDS_AN_AXIS or rank > 0]
        operands = tuple(draw(st.sampled_from(candidates)) for _ in range(arity))
        steps.append((name, operands))
        ranks.append(max(ranks[i] for i in operands))
    loss = draw(st.sampled_from(["sum", "mse", "bce_logits"]))
    return input_shapes, steps, loss


def build_and_run(steps, loss, values, last_shape):
    g = ComputationalGraph()
    nodes = [g.input(f"x{i}") for i in range(len(values))]
    for name, operands in steps:
        nodes.append(OPERATIONS[name][1](*(nodes[i] for i in operands)))
    last = nodes[-1]
    if loss == "sum":
        output = (last * nodes[0]).sum()  # weight by an input, so the seed is not all ones
    else:
        target = g.constant(np.full(last_shape, 0.3))
        gate = MSELossGate() if loss == "mse" else BinaryCrossEntropyWithLogitsGate()
        output = g.add_gate(gate, last, target)
    # Intermediate nodes that feed nothing are outputs too; ask for the loss only.
    out = g.forward({f"x{i}": v for i, v in enumerate(values)}, outputs=output)
    return out, g.backward(output=output)


def oracle(steps, loss, values):
    """The loss, its gradients with respect to every input, and the shape of the last step."""
    last_shape = []

    def f(*xs):
        nodes = list(xs)
        for name, operands in steps:
            nodes.append(OPERATIONS[name][2](*(nodes[i] for i in operands)))
        last = nodes[-1]
        last_shape[:] = [np.shape(last)]
        if loss == "sum":
            return anp.sum(last * nodes[0])
        target = np.full(np.shape(last), 0.3)
        if loss == "mse":
            return anp.mean((last - target) ** 2)
        return anp.mean(anp.maximum(last, 0) - last * target + anp.log1p(anp.exp(-anp.abs(last))))

    value = f(*values)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Output seems independent of input")  # an unused input: gradient 0
        grads = [autograd.grad(f, i)(*values) for i in range(len(values))]
    return value, grads, last_shape[0]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=expression_graphs(), seed=st.integers(0, 2**32 - 1))
def test_random_graphs_match_autograd_in_value_and_gradient(recipe, seed):
    input_shapes, steps, loss = recipe
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-2, 2, shape) for shape in input_shapes]
    with np.errstate(all="raise"):
        try:
            expected_value, expected_grads, last_shape = oracle(steps, loss, values)
        except FloatingPointError:
            assume(False)  # the oracle itself over- or underflowed: not a fair comparison
    value, grads = build_and_run(steps, loss, values, last_shape)
    np.testing.assert_allclose(value, expected_value, rtol=1e-9, atol=1e-12)
    for i, expected in enumerate(expected_grads):
        got = grads.get(f"x{i}", np.zeros(input_shapes[i]))
        assert np.shape(got) == input_shapes[i]
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-10, err_msg=f"x{i}; steps {steps}")
