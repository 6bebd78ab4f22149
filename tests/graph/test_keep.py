"""forward(keep=False): a pass for prediction and scoring that keeps nothing no backward will read."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from gates import Gate, MatMulGate, ReLUGate, SumGate, TanhGate
from graph import ComputationalGraph
from graph.errors import BackwardError, GateError
from graph.passes import run_forward
from graph.plan import forward_plan
from models import CNN, MLP, evaluate


def two_layer(rng):
    g = ComputationalGraph()
    x = g.input("x", requires_grad=False)
    w1 = g.parameter("W1", rng.normal(size=(5, 4)).astype(np.float32))
    w2 = g.parameter("W2", rng.normal(size=(3, 5)).astype(np.float32))
    hidden = (x @ w1.T).relu()
    out = g.add_gate(TanhGate(), hidden @ w2.T, name="out")
    g.add_gate(SumGate(), out * out, name="loss")
    return g


def test_the_values_are_those_of_a_kept_pass_in_the_same_shapes_and_dtypes():
    rng = np.random.default_rng(0)
    g = two_layer(rng)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    kept = g.forward(x=x, outputs=["out", "loss"])
    scored = g.forward(x=x, outputs=["out", "loss"], keep=False)
    assert list(scored) == ["out", "loss"]
    for name in scored:
        np.testing.assert_array_equal(scored[name], kept[name])
        assert scored[name].dtype == np.float32
    single = g.forward(x=x, outputs="out", keep=False)
    np.testing.assert_array_equal(single, kept["out"])
    assert g.forward(x=x, keep=False) == pytest.approx(float(kept["loss"]))  # the default output


def test_node_values_gradients_and_the_trace_stay_those_of_the_last_kept_pass():
    rng = np.random.default_rng(1)
    g = two_layer(rng)
    x_kept, x_scored = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=(2, 4)).astype(np.float32)
    g.forward(x=x_kept)
    grads = g.backward()
    out_before, trace_before = g["out"].value, g.trace
    g.forward(x=x_scored, keep=False)
    assert g["out"].value is out_before and g["out"].value.shape == (6, 3)
    assert g["W1"].grad is grads["W1"]
    trace = g.trace
    assert trace.forward == trace_before.forward and trace.backward == "loss"
    np.testing.assert_array_equal(trace.nodes["out"].value, out_before)
    with pytest.raises(BackwardError, match=r"no longer holds what forward 1.*keep=False"):
        trace.local_gradient(trace.incoming("loss")[0])  # the gates hold the unkept pass now


def test_backward_is_refused_after_a_pass_that_kept_nothing_until_one_keeps_its_pass():
    rng = np.random.default_rng(2)
    g = two_layer(rng)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    g.forward(x=x)
    g.forward(x=x, keep=False)
    with pytest.raises(BackwardError, match=r"kept nothing for backward \(keep=False"):
        g.backward()
    g.forward(x=x)
    assert set(g.backward()) == {"W1", "W2"}


def test_each_value_is_let_go_once_the_last_gate_reading_it_has_run():
    g = ComputationalGraph()
    x = g.input("x")
    doubled = x * 2.0
    y = doubled.tanh()
    z = y + doubled  # doubled's last reader
    w = z.exp()
    plan = forward_plan(g.nodes, [y, w])  # y is an output read by a later gate: kept
    names = [node.name for node in plan.order]
    for keep in (True, False):
        values = [None] * len(plan.order)
        values[names.index("x")] = np.array([0.5, -1.0])
        for leaf in plan.leaves:  # the constant 2.0
            values[leaf.slot] = leaf.node.value
        run_forward(plan, values, keep=keep)
        left = {name for name, value in zip(names, values) if value is not None}
        if keep:
            assert left == set(names)
        else:
            assert left == {"x", "const_1", y.name, w.name}  # the leaves and the outputs
            doubled_x = np.array([1.0, -2.0])
            np.testing.assert_allclose(values[names.index(w.name)], np.exp(np.tanh(doubled_x) + doubled_x))


def test_scoring_keeps_less_than_a_kept_pass_and_leaves_training_state_alone():
    model = MLP([784, 256, 10], seed=0)
    rng = np.random.default_rng(3)
    x = rng.random((2000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 2000)
    model.forward(model.inputs(x[:8]), model.targets(y[:8]))
    model.backward()

    def peak(score):
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            score()
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    # Each scored twice: the second pass runs while whatever the first one kept is alive.
    kept = peak(lambda: [model.forward(model.inputs(x), model.targets(y)) for _ in range(2)])
    model.forward(model.inputs(x[:8]), model.targets(y[:8]))
    model.backward()
    trained_pass = model.graph.trace.forward
    scored = peak(lambda: [evaluate(model, x, y) for _ in range(2)])
    hidden_layer = 2000 * 256 * 4
    assert scored < kept - hidden_layer  # at least one (2000, 256) float32 array less
    assert model.graph.trace.forward == trained_pass  # scoring did not replace the training pass
    np.testing.assert_array_equal(model.predict(x[:5]), model.graph.forward({"X": x[:5]}, outputs=model.output_node))


def test_gates_keep_no_cache_in_a_pass_no_backward_reads_and_cache_again_after():
    model = MLP([784, 32, 16, 10], seed=0)
    rng = np.random.default_rng(4)
    x, y = rng.random((40, 784), dtype=np.float32), rng.integers(0, 10, 40)
    model.forward(model.inputs(x[:8]), model.targets(y[:8]))
    linear, relu = model.graph["Z2"].gate, model.graph["A1"].gate
    cached_input, cached_mask = linear.a, relu.positive
    assert cached_input.shape == (8, 32)
    evaluate(model, x, y)
    model.predict(x)
    assert linear.a is cached_input and relu.positive is cached_mask  # the scored batches were not cached
    gates = [node.gate for node in model.graph.nodes if node.gate is not None]
    assert all(gate.backward_follows for gate in gates)
    with pytest.raises(GateError):  # a scoring pass that fails half-way also gives the gates back their caching
        model.graph.forward({"X": np.zeros((3, 784), np.float32), "Y": np.array([0, 1, 99])}, keep=False)
    assert all(gate.backward_follows and gate.overwritable is None for gate in gates)
    assert not relu.can_overwrite(0)
    model.forward(model.inputs(x[:5]), model.targets(y[:5]))
    assert linear.a.shape == (5, 32)
    assert set(model.backward()) == {"W1", "b1", "W2", "b2", "W3", "b3"}


def test_a_scoring_pass_gives_no_gate_a_dict_of_its_own():
    # Gates set backward_follows and overwritable in __init__. A pass that set them as names the gates did not
    # have yet (or read vars(gate)) made CPython give every gate a dict of its own, for good: 272 bytes a
    # gate and slower reruns on a large scalar graph. With its attributes in the instance's compact array, a
    # gate's referents are those values; a dict among them is that dict (these gates hold no dict otherwise).
    g = ComputationalGraph()
    x = g.input("x")
    node = x
    for _ in range(200):
        node = (node * 0.5).relu() + x
    g.forward(x=1.0)
    g.backward()
    gates = [n.gate for n in g.nodes if n.gate is not None]

    def with_a_dict():
        return sum(any(type(referent) is dict for referent in gc.get_referents(gate)) for gate in gates)

    assert with_a_dict() == 0
    scored = g.forward(x=2.0, keep=False)
    assert with_a_dict() == 0
    assert g.forward(x=2.0) == scored
    assert all(gate.backward_follows and gate.overwritable is None for gate in gates)


def test_a_second_scoring_runs_with_nothing_of_the_first_alive():
    model = MLP([784, 256, 10], seed=0)
    rng = np.random.default_rng(5)
    x, y = rng.random((2000, 784), dtype=np.float32), rng.integers(0, 10, 2000)
    model.forward(model.inputs(x[:8]), model.targets(y[:8]))

    def peak(times):
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(times):
                evaluate(model, x, y)
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    once, twice = peak(1), peak(2)
    # The gates cached the first scoring's hidden layer (2000, 256) and its ReLU mask: 2.5 MB more the second time.
    assert twice - once < 2000 * 256 * 4 / 4


def test_matmul_and_convolution_gates_skip_their_caches_too():
    rng = np.random.default_rng(6)
    g = two_layer(rng)
    g.forward(x=rng.normal(size=(6, 4)).astype(np.float32))
    matmuls = [node.gate for node in g.nodes if isinstance(node.gate, MatMulGate)]
    cached = [gate.x for gate in matmuls]
    g.forward(x=rng.normal(size=(2, 4)).astype(np.float32), keep=False)
    assert len(cached) == 2 and all(gate.x is old for gate, old in zip(matmuls, cached))

    model = CNN(channels=(4,), hidden=(), seed=0)
    model.forward(np.zeros((3, 1, 28, 28), np.float32), np.zeros(3, np.int64))
    conv = model.graph["Z1"].gate
    cols = conv.cols
    assert model.predict(np.ones((2, 1, 28, 28))).shape == (2, 10)
    assert conv.cols is cols


class Same(Gate):
    """Returns its input as it is: the array a ReLU after it must not write into when it is a feed or a parameter."""

    def forward(self, x):
        return x

    def backward(self, upstream):
        return (upstream,)


def test_relu_writes_into_its_input_only_where_nothing_else_can_see_it():
    x = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32)
    relu = np.maximum(x, 0)
    g = ComputationalGraph()
    feed, weight = g.input("x"), g.parameter("w", x.copy())
    g.add_gate(ReLUGate(), g.add_gate(Same(), feed), name="of_feed")  # the feed itself reaches the ReLU
    g.add_gate(ReLUGate(), g.add_gate(Same(), weight), name="of_parameter")
    doubled = feed * 2.0
    g.add_gate(ReLUGate(), doubled, name="shared")  # doubled has a second reader, after this one
    g.add_gate(ReLUGate(), doubled * -1.0, name="sole")
    copied = feed * 1.0
    g.add_gate(ReLUGate(), copied.T, name="of_view")  # a transposed view of a value returned too
    outputs = ["of_feed", "of_parameter", "shared", "sole", "of_view", copied.name]
    scored = g.forward(x=x, outputs=outputs, keep=False)
    np.testing.assert_array_equal(x, [[-1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(weight.value, x)
    for name, expected in zip(outputs, (relu, relu, 2 * relu, np.maximum(-2 * x, 0), relu.T, x)):
        np.testing.assert_array_equal(scored[name], expected)
        assert scored[name].dtype == np.float32


def test_scoring_writes_each_relu_into_the_hidden_layer_it_reads():
    model = MLP([784, 256, 10], seed=0)
    x = np.random.default_rng(7).random((2000, 784), dtype=np.float32)
    expected = model.predict(x[:10])
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        probabilities = model.predict(x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(probabilities[:10], expected, rtol=1e-6)
    assert peak < 1.2 * 2000 * 256 * 4  # one (2000, 256) hidden layer, not Z1 and A1 side by side


def test_a_models_diagram_and_explanation_are_the_same_after_predict_and_evaluate():
    # Before: the loss's local gradient (a one-element target) was refused once any forward(keep=False) had run,
    # although predict never runs the loss gate, so a model's diagram could not be drawn after scoring.
    model = MLP([4, 5, 3], seed=0)
    rng = np.random.default_rng(7)
    x, y = rng.random((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    model.forward(model.inputs(x), model.targets(y))
    model.backward()
    drawn, explained = model.graph.to_dot().source, model.graph.explain()
    model.predict(x[:2])
    evaluate(model, x, y)
    assert model.graph.to_dot().source == drawn
    assert model.graph.explain() == explained


def test_a_local_gradient_of_a_gate_a_scoring_pass_ran_is_refused_and_the_others_are_still_given():
    g = ComputationalGraph()
    x, w = g.input("x"), g.parameter("w", 3.0)
    scored = (x * w).tanh()
    scored.name = "scored"
    other = x * 2.0
    other.name = "other"
    total = scored + other
    total.name = "total"
    g.forward(x=0.5)
    g.backward()
    edge_of = {(edge.target, edge.position): edge for edge in g.trace.edges}
    other_local = g.trace.local_gradient(edge_of[("other", 0)])
    g.forward(x=1.5, outputs="scored", keep=False)  # runs mul_1 and scored, not other or total
    trace = g.trace
    assert trace.local_gradient(edge_of[("other", 0)]) == other_local == 2.0
    with pytest.raises(BackwardError, match=r"gate .scored. no longer holds .*keep=False.*run forward\(\) and"):
        trace.local_gradient(edge_of[("scored", 0)])
    g.forward(x=0.5)
    g.backward()
    assert g.trace.local_gradient(edge_of[("scored", 0)]) == pytest.approx(1 - np.tanh(1.5) ** 2)
