"""ComputationalGraph: building, running, plans, and the errors a user gets."""

import gc
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graph.graph as graph_module
from gates import AddGate, ExpGate, Gate, LinearGate, MatMulGate, MultiplyGate, SoftmaxCrossEntropyGate
from graph import (
    BackwardError,
    ComputationalGraph,
    CycleError,
    DTypeError,
    DuplicateNameError,
    FeedError,
    GateContractError,
    GateError,
    GateReuseError,
    NodeNotFoundError,
    ShapeError,
)


class SpyGate(Gate):
    """Identity that records what the graph asked of it."""

    symbol = "spy"

    def __init__(self):
        self.backward_calls = 0
        self.seen_needs = None

    def forward(self, x, y):
        return x + y

    def backward(self, upstream):
        self.backward_calls += 1
        self.seen_needs = self.needs_input_grad
        return (upstream if self.needs_input_grad[0] else None, upstream if self.needs_input_grad[1] else None)


def first_circuit():
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    (x + y) * z
    return g


# -- building ------------------------------------------------------------------------


def test_auto_names_follow_the_gate_and_count():
    g = ComputationalGraph()
    x = g.input("x")
    a, b, c = x * 2, x * 3, x + 1
    assert (a.name, b.name, c.name) == ("mul_1", "mul_2", "add_1")
    assert [n.kind for n in a.inputs] == ["input", "constant"]


def test_edges_record_argument_positions_even_for_the_same_input_twice():
    g = ComputationalGraph()
    x = g.input("x")
    square = x * x
    assert g.dag.edges["x", square.name]["args"] == (0, 1)
    g.forward(x=3.0)
    assert g.backward() == {"x": 6.0}


def test_reflected_operators_with_numbers_and_arrays():
    g = ComputationalGraph()
    x = g.input("x")
    outputs = [1 - x, 2 / x, 3 * x, 4 + x, np.array([1.0, 2.0]) + x, np.array([[1.0, 2.0]]) @ x.reshape(2, 1)]
    values = g.forward(x=np.array([2.0, 4.0]), outputs=outputs)
    expected = [[-1, -3], [1, 0.5], [6, 12], [6, 8], [3, 6], [[10]]]
    for out, want in zip(outputs, expected):
        np.testing.assert_allclose(values[out.name], want)


def test_node_methods_build_the_matching_gates():
    g = ComputationalGraph()
    x = g.input("x")
    methods = {
        "exp": x.exp(),
        "log": x.log(),
        "sqrt": x.sqrt(),
        "abs": x.abs(),
        "sigmoid": x.sigmoid(),
        "tanh": x.tanh(),
        "relu": x.relu(),
        "leaky_relu": x.leaky_relu(0.1),
        "softmax": x.softmax(),
        "sum": x.sum(),
        "mean": x.mean(axis=0, keepdims=True),
        "neg": -x,
        "pow": x**2,
        "transpose": x.T,
        "max": x.maximum(2.0),
        "min": x.minimum(2.0),
    }
    for prefix, node in methods.items():
        assert node.name.startswith(prefix + "_"), node.name
    value = np.array([1.0, 3.0])
    results = g.forward(x=value, outputs=list(methods.values()))
    assert results[methods["max"].name].tolist() == [2.0, 3.0]
    assert results[methods["pow"].name].tolist() == [1.0, 9.0]
    np.testing.assert_allclose(results[methods["softmax"].name].sum(), 1.0)


def test_scope_groups_nodes():
    g = ComputationalGraph()
    x = g.input("x")
    with g.scope("net"), g.scope("layer1"):
        w = g.parameter("W", np.ones((2, 2)))
        h = x @ w
    assert (w.scope, h.scope, x.scope) == ("net/layer1", "net/layer1", None)


def test_lookup_containment_and_repr():
    g = first_circuit()
    assert "x" in g and "nope" not in g and len(g) == 5
    assert [n.name for n in g.nodes][-1] == "mul_1"
    assert [n.name for n in g.outputs] == ["mul_1"]
    assert repr(g) == "<ComputationalGraph: 3 inputs, 0 parameters, 0 constants, 2 gates>"
    g.forward(x=-2.0, y=5.0, z=-4.0)
    g.backward()
    assert repr(g["add_1"]) == "<Node 'add_1' (AddGate) value=3 grad=-4>"


# -- forward and backward semantics ---------------------------------------------------------


def test_backward_twice_gives_the_same_gradients_not_their_sum():
    g = first_circuit()
    g.forward(x=-2.0, y=5.0, z=-4.0)
    assert g.backward() == g.backward() == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_a_new_forward_clears_the_old_gradients():
    g = first_circuit()
    g.forward(x=-2.0, y=5.0, z=-4.0)
    g.backward()
    g.forward(x=1.0, y=1.0, z=1.0)
    assert all(node.grad is None for node in g)


def test_outputs_runs_only_what_they_need_and_needs_only_their_feeds():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    double = g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(AddGate(), double, y, name="total")
    assert g.forward(x=3.0, outputs="double") == 6.0
    assert g.forward(x=3.0, outputs=["double"]) == {"double": 6.0}
    assert g["total"].value is None
    assert g.forward(x=3.0, y=1.0) == 7.0


def test_nodes_show_the_last_kept_pass_that_ran_them_and_what_was_assigned_since():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    double = g.add_gate(MultiplyGate(), x, 2.0, name="double")
    total = g.add_gate(AddGate(), double, y, name="total")
    g.forward(x=3.0, y=1.0)
    g.backward()
    assert (double.value, total.value, total.grad, total.input_grads) == (6.0, 7.0, 1.0, (1.0, 1.0))
    g.forward(x=5.0, outputs="double")  # another plan: total keeps the value of the pass that ran it
    assert (x.value, double.value, total.value, total.grad, total.input_grads) == (5.0, 10.0, 7.0, None, None)
    x.grad, y.grad = "assigned", "assigned"
    assert g.backward() == {"x": 2.0}
    assert (x.grad, y.grad) == (2.0, "assigned")  # a backward sets the nodes its forward ran, and only those
    g.forward(x=0.0, y=0.0, keep=False)
    assert (x.value, double.value, total.value, x.grad) == (5.0, 10.0, 7.0, 2.0)
    total.value = 0.0
    g.forward(x=1.0, outputs="double")
    assert (total.value, total.version, y.grad) == (0.0, 1, None)
    g.forward(x=1.0, y=1.0)
    assert total.value == 3.0
    with pytest.raises(AttributeError):
        total.input_grads = None  # type: ignore[misc]


def test_several_outputs_return_a_dict_and_backward_asks_which():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(MultiplyGate(), x, x, name="square")
    assert g.forward(x=3.0) == {"double": 6.0, "square": 9.0}
    with pytest.raises(BackwardError, match=r"several outputs \('double', 'square'\).*backward\(output='double'\)"):
        g.backward()
    assert g.backward(output="square") == {"x": 6.0}
    assert g.backward(output=g["double"]) == {"x": 2.0}


def test_data_inputs_get_no_gradient_and_gates_are_told():
    g = ComputationalGraph()
    x, w = g.input("x", requires_grad=False), g.parameter("w", np.array([1.0, 2.0]))
    spy = SpyGate()
    g.add_gate(spy, x, w).sum()
    g.forward(x=np.array([3.0, 4.0]))
    assert list(g.backward()) == ["w"]
    assert spy.seen_needs == (False, True)
    assert x.grad is None


def test_linear_layer_on_data_never_computes_d_input(monkeypatch):
    g = ComputationalGraph()
    a = g.input("A", requires_grad=False)
    w, b = g.parameter("W", np.ones((2, 3))), g.parameter("b", np.zeros(2))
    layer = g.add_gate(LinearGate(), a, w, b)
    layer.sum()
    g.forward(A=np.ones((4, 3)))
    g.backward()
    assert layer.gate.needs_input_grad == (False, True, True)
    assert layer.input_grads[0] is None


def test_branches_that_need_no_gradient_are_not_visited():
    g = ComputationalGraph()
    x, data = g.input("x"), g.input("data", requires_grad=False)
    spy = SpyGate()
    constant_branch = g.add_gate(spy, data, 1.0)
    x * constant_branch
    g.forward(x=2.0, data=3.0)
    assert g.backward() == {"x": 4.0}
    assert spy.backward_calls == 0


def test_the_plan_is_built_once_and_rebuilt_after_a_change(monkeypatch):
    walks = []  # each plan (forward, and backward per output) is made once, then cached
    real_forward, real_backward = graph_module.forward_plan, graph_module.backward_plan
    monkeypatch.setattr(graph_module, "forward_plan", lambda *args: walks.append(1) or real_forward(*args))
    monkeypatch.setattr(graph_module, "backward_plan", lambda *args: walks.append(1) or real_backward(*args))
    g = first_circuit()
    for _ in range(3):
        g.forward(x=-2.0, y=5.0, z=-4.0)
        g.backward()
    assert len(walks) == 2
    g["mul_1"].exp()
    assert g.forward(x=-2.0, y=5.0, z=-4.0) == pytest.approx(np.exp(-12.0))
    assert len(walks) == 3


def test_float32_stays_float32_through_the_graph():
    g = ComputationalGraph()
    x = g.input("x", requires_grad=False)
    w = g.parameter("W", np.ones((3, 2), dtype=np.float32))
    labels = g.input("labels", requires_grad=False)
    logits = (x @ w * 0.5 + 1).relu()
    g.add_gate(SoftmaxCrossEntropyGate(), logits, labels)
    loss = g.forward(x=np.ones((4, 3), dtype=np.float32), labels=np.array([0, 1, 0, 1]))
    assert loss.dtype == np.float32 and logits.value.dtype == np.float32
    assert g.backward()["W"].dtype == np.float32


def test_fan_out_sum_does_not_modify_a_gates_cached_arrays():
    g = ComputationalGraph()
    x = g.input("x")
    shared = x * 1.0
    (shared + shared) + shared
    g.forward(x=np.array([1.0, 2.0]))
    grads = g.backward(grad=np.array([1.0, 1.0]))
    np.testing.assert_array_equal(grads["x"], [3.0, 3.0])
    np.testing.assert_array_equal(g.backward(grad=np.array([1.0, 1.0]))["x"], [3.0, 3.0])


def test_non_scalar_output_with_a_seed_gradient():
    g = ComputationalGraph()
    x = g.input("x")
    x * x
    g.forward(x=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g.backward(grad=np.array([1.0, 0.0, 2.0]))["x"], [2.0, 0.0, 12.0])


# -- errors: each names what is wrong, and the graph stays usable ---------------------------


def test_matmul_shape_mismatch_names_node_gate_inputs_and_shapes():
    g = ComputationalGraph()
    a, b = g.input("A"), g.input("B")
    g.add_gate(MatMulGate(), a, b, name="scores")
    with pytest.raises(GateError, match=r"node 'scores' \(MatMulGate\) failed on A \(2, 3\), B \(4, 5\).*matmul"):
        g.forward(A=np.ones((2, 3)), B=np.ones((4, 5)))


def test_missing_and_unknown_feeds_are_named():
    g = first_circuit()
    with pytest.raises(FeedError, match=r"missing feed for input 'z'"):
        g.forward(x=1.0, y=2.0)
    with pytest.raises(FeedError, match=r"feed 'q' names no input of the graph; its inputs are 'x', 'y', 'z'"):
        g.forward(x=1.0, y=2.0, z=3.0, q=4.0)
    with pytest.raises(FeedError, match="fed twice"):
        g.forward({"x": 1.0}, x=1.0, y=2.0, z=3.0)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("1.0", "must be numeric"),
        (None, "must be numeric"),
        (True, "must be numeric"),
        (object(), "not numeric"),
        ([[1.0, 2.0], [3.0]], "not a rectangular array"),
        (np.array([True, False]), "is boolean"),
        (np.array(["a"]), "not numeric"),
    ],
    ids=["string", "None", "bool", "object", "ragged", "bool array", "string array"],
)
def test_non_numeric_feeds_are_refused(bad, message):
    g = first_circuit()
    with pytest.raises(DTypeError, match=f"feed 'x' .*{message}|feed 'x' {message}"):
        g.forward(x=bad, y=1.0, z=1.0)


def test_integer_feeds_policy():
    g = ComputationalGraph()
    x = g.input("x")
    x * 0.5
    assert g.forward(x=3) == 1.5 and isinstance(x.value, float)  # Python ints become floats
    g.forward(x=[1, 2])
    assert x.value.dtype == np.float64  # lists become float64 arrays
    g.forward(x=np.array([1, 2]))
    assert x.value.dtype == np.int64  # arrays are used as they are: labels stay integer


def test_gate_reuse_duplicate_names_and_foreign_nodes():
    g = ComputationalGraph()
    x = g.input("x")
    gate = ExpGate()
    g.add_gate(gate, x, name="e")
    with pytest.raises(GateReuseError, match=r"ExpGate instance already stands at node 'e'"):
        g.add_gate(gate, x)
    with pytest.raises(DuplicateNameError, match=r"a node named 'x' already exists"):
        g.input("x")
    other = ComputationalGraph().input("y")
    with pytest.raises(NodeNotFoundError, match=r"node 'y' belongs to another graph"):
        x + other
    with pytest.raises(NodeNotFoundError, match=r"no node named 'ee' in the graph; did you mean 'e'"):
        g["ee"]
    with pytest.raises(GateError, match="ExpGate takes 1 inputs, got 2"):
        g.add_gate(ExpGate(), x, x)
    with pytest.raises(TypeError, match="needs a Gate instance"):
        g.add_gate(np.exp, x)
    assert len(g) == 2  # nothing half-added


def test_a_cycle_is_refused_naming_its_nodes_and_the_graph_is_unchanged():
    g = ComputationalGraph()
    x = g.input("x")
    a = g.add_gate(ExpGate(), x, name="a")
    b = g.add_gate(ExpGate(), a, name="b")
    with pytest.raises(CycleError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        g.rewire(a, b)
    assert a.inputs == (x,)
    assert g.forward(x=0.0) == pytest.approx(np.e)


def test_rewire_changes_the_inputs():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    product = x * 3.0
    g.rewire(product, y, 3.0)
    assert g.forward(y=2.0) == 6.0


def test_backward_before_forward_and_after_a_failed_forward():
    g = ComputationalGraph()
    a, b = g.input("a"), g.input("b")
    a @ b
    with pytest.raises(BackwardError, match=r"forward\(\) has not run"):
        g.backward()
    g.forward(a=np.ones((2, 3)), b=np.ones((3, 1)))
    with pytest.raises(GateError):
        g.forward(a=np.ones((2, 3)), b=np.ones((4, 1)))
    with pytest.raises(BackwardError, match=r"the last forward\(\) failed"):
        g.backward()
    np.testing.assert_array_equal(a.value, np.ones((2, 3)))  # the failed call changed no value
    g.forward(a=np.ones((2, 3)), b=np.ones((3, 1)))
    np.testing.assert_array_equal(g.backward(grad=np.ones((2, 1)))["b"], [[2.0], [2.0], [2.0]])


def test_non_scalar_output_needs_a_seed_of_its_shape():
    g = ComputationalGraph()
    x = g.input("x")
    x * 2.0
    g.forward(x=np.ones(3))
    with pytest.raises(BackwardError, match=r"output 'mul_1' has shape \(3,\), not one element: pass backward\(grad"):
        g.backward()
    with pytest.raises(ShapeError, match=r"backward grad has shape \(2,\), output 'mul_1' has shape \(3,\)"):
        g.backward(grad=np.ones(2))


class WrongShapeGate(Gate):
    def forward(self, x):
        return x * 2

    def backward(self, upstream):
        return (np.sum(upstream),)


class TooManyGradientsGate(Gate):
    def forward(self, x):
        return x * 2

    def backward(self, upstream):
        return (upstream, upstream)


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (WrongShapeGate(), r"node 'bad' \(WrongShapeGate\): backward returned a gradient of shape \(\) for input 0 "),
        (TooManyGradientsGate(), r"node 'bad' \(TooManyGradientsGate\): backward must return a tuple of 1 gradients"),
    ],
)
def test_a_user_gate_that_breaks_the_contract_is_blamed(gate, message):
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(gate, x, name="bad").sum()
    g.forward(x=np.ones(3))
    with pytest.raises(GateContractError, match=message):
        g.backward()


class ArrayForAFloatGate(Gate):
    """Sends three gradients where its input is one number: a wrong gradient that a float-only pass must catch."""

    def forward(self, x):
        return x * 2

    def backward(self, upstream):
        return (np.full(3, 2 * upstream),)


class NumpyScalarGate(Gate):
    """Computes with numpy on a float: numpy's scalars, of the right shape, are accepted and added as floats."""

    def forward(self, x):
        return np.float64(x) * 2

    def backward(self, upstream):
        return (np.float64(upstream) * 2,)


def test_a_scalar_graph_checks_every_gradient_whatever_the_pass_before():
    g = ComputationalGraph()
    x = g.input("x")
    (g.add_gate(ArrayForAFloatGate(), x, name="bad") * g.add_gate(NumpyScalarGate(), x, name="fine")).tanh()
    message = r"node 'bad' \(ArrayForAFloatGate\): backward returned a gradient of shape \(3,\) for input 0 \('x'\), "
    message += r"expected its shape \(\)"
    for feed in (0.5, np.ones(3), 0.5):  # a scalar pass, an array pass (where the shapes agree), a scalar pass
        value = g.forward(x=feed)
        if isinstance(feed, float):
            assert type(value) is float
            with pytest.raises(GateContractError, match=message):
                g.backward()
        else:
            np.testing.assert_allclose(g.backward(grad=np.ones(3))["x"], 8 * feed * (1 - np.tanh(4 * feed**2) ** 2))


def test_numpy_scalars_in_a_scalar_graph_are_checked_and_added_as_floats():
    g = ComputationalGraph()
    x = g.input("x")
    (g.add_gate(NumpyScalarGate(), x, name="twice") + x.tanh()).relu()
    assert type(g.forward(x=0.5)) is float
    grads = g.backward()
    assert type(grads["x"]) is float and grads["x"] == 2.0 + (1 - np.tanh(0.5) ** 2)
    assert type(g["twice"].value) is float


def test_parameters_are_floating_point_copies():
    g = ComputationalGraph()
    original = np.array([1.0, 2.0])
    p = g.parameter("w", original)
    original[0] = 99.0
    assert p.value.tolist() == [1.0, 2.0]
    assert g.parameter("v", [1, 2]).value.dtype == np.float64
    with pytest.raises(DTypeError, match=r"parameter 'n' has dtype int64; .*floating point"):
        g.parameter("n", np.array([1, 2]))


def test_passes_leave_the_garbage_collector_as_they_found_it():
    g = first_circuit()
    assert gc.isenabled()
    g.forward(x=-2.0, y=5.0, z=-4.0)
    g.backward()
    assert gc.isenabled()
    broken = ComputationalGraph()
    broken.add_gate(WrongShapeGate(), broken.input("x"), name="bad").sum()
    broken.forward(x=np.ones(3))
    with pytest.raises(GateContractError):  # a failure inside the pass restores it too
        broken.backward()
    assert gc.isenabled()
    gc.disable()
    try:
        g.forward(x=-2.0, y=5.0, z=-4.0)
        g.backward()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_feeding_arrays_does_not_import_numpy_ma():
    # Checking feeds for masked arrays must not load numpy.ma (1 MiB) in a program that never uses it.
    code = (
        "import sys, numpy as np; from models import MLP; "
        "m = MLP([4, 3, 2], seed=0); m.predict(np.ones((2, 4), np.float32)); "
        "print('numpy.ma' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert done.stdout.strip() == "False"
