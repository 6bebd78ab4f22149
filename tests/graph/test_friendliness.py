"""Friendliness: node.backward(), numpy ufuncs on nodes, summaries that show as tables, messages that help."""

import numpy as np
import pytest

import gates
from graph import (
    BackwardError,
    ComputationalGraph,
    FeedError,
    GateError,
    NodeNotFoundError,
    NonFiniteError,
    audit,
    check_graph,
)
from graph.node import UFUNC_GATES
from graph.summary import Table
from models import MLP
from models.lecture import FIRST_CIRCUIT_FEEDS, first_circuit

# -- node.backward ------------------------------------------------------------------


def test_node_backward_is_g_backward_from_that_node():
    g = first_circuit(run=False)
    g.forward(FIRST_CIRCUIT_FEEDS)
    assert g["f"].backward() == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert g["f"].grad == 1.0 and g["q"].grad == -4.0
    assert g.trace.backward == "f"


def test_node_backward_takes_grad_and_check_finite():
    g = ComputationalGraph()
    x = g.input("x")
    y = x * np.array([1.0, 2.0])
    two = (x * 2.0).sum()
    g.forward(x=np.array([3.0, 4.0]), outputs=[y, two])
    np.testing.assert_array_equal(y.backward(grad=np.array([1.0, -1.0]))["x"], [1.0, -2.0])
    assert g.trace.backward == y.name
    np.testing.assert_array_equal(two.backward()["x"], [2.0, 2.0])
    with pytest.raises(NonFiniteError, match=r"backward grad \(the seed of output 'mul_1'\) holds 1 of 2"):
        y.backward(grad=np.array([1.0, np.inf]), check_finite=True)
    with pytest.raises(BackwardError, match=r"output 'mul_1' has shape \(2,\), not one element: pass backward\(grad="):
        y.backward()


def test_node_backward_before_forward_says_so():
    g = first_circuit(run=False)
    with pytest.raises(
        BackwardError, match=r"backward\(\) needs a successful forward\(\) first: forward\(\) has not run"
    ):
        g["f"].backward()


# -- numpy ufuncs ------------------------------------------------------------------

UNARY = [np.exp, np.log, np.sqrt, np.abs, np.absolute, np.tanh, np.negative]
BINARY = [np.add, np.subtract, np.multiply, np.divide, np.true_divide, np.maximum, np.minimum]


@pytest.mark.parametrize("ufunc", UNARY, ids=lambda u: u.__name__)
def test_a_unary_ufunc_builds_its_gate_and_computes_what_numpy_does(ufunc):
    g = ComputationalGraph()
    x = g.input("x")
    node = ufunc(x)
    assert type(node.gate) is UFUNC_GATES[ufunc] and node.inputs == (x,) and len(g) == 2
    value = np.array([0.5, 2.0, 3.0])
    np.testing.assert_allclose(g.forward(x=value), ufunc(value), rtol=1e-15)
    check_graph(g, {"x": value})


@pytest.mark.parametrize("ufunc", BINARY, ids=lambda u: u.__name__)
def test_a_binary_ufunc_builds_its_gate_with_the_arguments_in_order(ufunc):
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    node = ufunc(x, y)
    assert type(node.gate) is UFUNC_GATES[ufunc] and node.inputs == (x, y)
    feeds = {"x": np.array([1.0, -2.0, 3.5]), "y": np.array([2.0, 0.5, -1.0])}
    np.testing.assert_allclose(g.forward(feeds), ufunc(feeds["x"], feeds["y"]), rtol=1e-15)
    check_graph(g, feeds)


def test_arrays_and_numbers_in_ufuncs_become_constants_on_their_side():
    g = ComputationalGraph()
    x = g.input("x")
    left = np.subtract(np.array([10.0, 20.0]), x)  # array - x, also what `array - x` calls
    right = np.array([10.0, 20.0]) - x
    scaled = np.float64(3.0) * x
    product = np.array([[1.0, 2.0]]) @ x.reshape(2, 1)
    squared = np.power(x, 2)
    assert [n.gate.short_name for n in (left, right, scaled, product, squared)] == [
        "sub",
        "sub",
        "mul",
        "matmul",
        "pow",
    ]
    assert left.inputs[0].kind == "constant" and left.inputs[1] is x
    values = g.forward(x=np.array([1.0, 2.0]), outputs=[left, right, scaled, product, squared])
    np.testing.assert_array_equal(values[left.name], [9.0, 18.0])
    np.testing.assert_array_equal(values[right.name], [9.0, 18.0])
    np.testing.assert_array_equal(values[scaled.name], [3.0, 6.0])
    np.testing.assert_array_equal(values[product.name], [[5.0]])
    np.testing.assert_array_equal(values[squared.name], [1.0, 4.0])


def test_the_lecture_neuron_with_numpy_functions_matches_the_methods():
    g = ComputationalGraph()
    w, x = g.input("w"), g.input("x")
    f = np.maximum(np.tanh(w * x), np.exp(-w)).named("f")
    assert g.forward(w=0.5, x=2.0) == pytest.approx(max(np.tanh(1.0), np.exp(-0.5)))
    assert f.backward()["x"] == pytest.approx(0.5 * (1 - np.tanh(1.0) ** 2))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda x: np.sin(x), GateError, r"there is no gate for numpy\.sin \(called on node 'x'\); write it with"),
        (lambda x: np.square(x), GateError, r"no gate for numpy\.square .*; write x \*\* 2 or x \* x"),
        (lambda x: np.reciprocal(x), GateError, r"no gate for numpy\.reciprocal .*; write 1 / x"),
        (lambda x: np.log1p(x), GateError, r"no gate for numpy\.log1p .*; write \(1 \+ x\)\.log\(\)"),
        (lambda x: np.greater(x, 0.0), GateError, r"no gate for numpy\.greater .*; a comparison has no gradient"),
        (lambda x: np.add.reduce(x), GateError, r"numpy\.add\.reduce on node 'x': .* write x\.sum\(axis\)"),
        (
            lambda x: np.multiply.outer(x, x),
            GateError,
            r"numpy\.multiply\.outer on node 'x': a graph builds gates for plain ufunc calls only; write it with the "
            r"node methods",
        ),
        (lambda x: np.exp(x, out=np.zeros(2)), GateError, r"numpy\.exp\(\.\.\., out=\) on node 'x'"),
        (lambda x: np.add(x, 1.0, where=True), GateError, r"numpy\.add\(\.\.\., where=\) on node 'x'"),
        (lambda x: np.power(2.0, x), TypeError, r"x \*\* y needs a number as exponent, got node 'x'"),
    ],
)
def test_a_ufunc_without_a_gate_says_what_to_write_and_adds_nothing(call, error, match):
    g = ComputationalGraph()
    x = g.input("x")
    with pytest.raises(error, match=match):
        call(x)
    assert [n.name for n in g] == ["x"]


# -- summaries ---------------------------------------------------------------------


def test_model_summary_shows_as_a_table_in_a_repl_print_and_a_notebook(capsys):
    model = MLP([4, 3, 2], seed=0)
    table = model.summary()
    assert isinstance(table, Table)
    text = str(table)
    assert repr(table) == text  # a REPL shows the table, not a quoted string with \n in it
    assert text.splitlines() == [
        "MLP: 4-3-2, relu, softmax_cross_entropy (mean), float32",
        "layer   node  operation              output  parameters",
        "input   X     data                   (N, 4)",
        "layer1  Z1    Linear(4 -> 3)         (N, 3)  W1 (3, 4), b1 (3,): 15",
        "layer1  A1    relu                   (N, 3)",
        "layer2  Z2    Linear(3 -> 2)         (N, 2)  W2 (2, 3), b2 (2,): 8",
        "output  Yhat  softmax                (N, 2)",
        "loss    loss  softmax_cross_entropy  ()",
        "total parameters: 23",
    ]
    print(table)
    assert capsys.readouterr().out == text + "\n"
    page = table._repr_html_()
    assert page.startswith('<table class="gategraph-summary"><caption>MLP: 4-3-2, relu')
    assert "<th>layer</th><th>node</th><th>operation</th><th>output</th><th>parameters</th>" in page
    assert "<tr><td>layer1</td><td>Z1</td><td>Linear(4 -&gt; 3)</td><td>(N, 3)</td>" in page
    assert '<tfoot><tr><td colspan="5">total parameters: 23</td></tr></tfoot>' in page


def test_graph_summary_lists_nodes_by_kind_gates_by_type_and_parameters():
    g = ComputationalGraph()
    x = g.input("x")
    w = g.parameter("w", np.zeros((3, 2), np.float32))
    b = g.parameter("b", np.zeros(3, np.float32))
    ((x @ w.T + b).relu() * 2.0).sum().named("loss")
    assert str(g.summary()).splitlines() == [
        "ComputationalGraph: 10 nodes (1 input, 2 parameters, 1 constant, 6 gates), 9 parameter values",
        "kind       type           count  shape   values  nodes",
        "input                     1                      x",
        "parameter  float32        1      (3, 2)  6       w",
        "parameter  float32        1      (3,)    3       b",
        "constant                  1                      const_1",
        "gate       TransposeGate  1                      transpose_1",
        "gate       MatMulGate     1                      matmul_1",
        "gate       AddGate        1                      add_1",
        "gate       ReLUGate       1                      relu_1",
        "gate       MultiplyGate   1                      mul_1",
        "gate       SumGate        1                      loss",
    ]


def test_graph_summary_follows_names_and_shortens_long_lists():
    g = first_circuit()
    g["x"].named("a")
    assert str(g.summary()).splitlines()[2] == "input                3                     a, y, z"
    many = ComputationalGraph()
    total = many.input("x0")
    for i in range(1, 10):
        total = total + many.input(f"x{i}")
    lines = str(many.summary()).splitlines()
    assert lines[0] == "ComputationalGraph: 19 nodes (10 inputs, 9 gates)"
    assert lines[2].endswith("x0, x1, x2, x3, x4, x5, ... (4 more)")
    assert lines[3].split()[:3] == ["gate", "AddGate", "9"]
    assert str(ComputationalGraph().summary()) == (
        "ComputationalGraph: 0 nodes (empty)\nkind  type  count  shape  values  nodes"
    )


def test_summary_html_escapes_names():
    g = ComputationalGraph()
    (g.input("a<b") * 2.0).named("x&y")
    page = g.summary()._repr_html_()
    assert "<td>a&lt;b</td>" in page and "<td>x&amp;y</td>" in page and "a<b" not in page


# -- messages that help --------------------------------------------------------------


def test_a_positional_feed_names_the_call_to_make():
    model = MLP([4, 3, 2], seed=0)
    with pytest.raises(
        FeedError, match=r"got ndarray; call forward\(X=\.\.\., Y=\.\.\.\) \(the graph's inputs are 'X', 'Y'\)"
    ):
        model.graph.forward(np.ones((2, 4)))
    with pytest.raises(
        FeedError, match=r"call forward\(X=\.\.\., Y=\.\.\.\) or forward\(\{'X': \.\.\., 'Y': \.\.\.\}\)"
    ):
        model.graph.forward([np.ones((2, 4)), np.array([0, 1])])


def test_every_lookup_by_name_suggests_close_names():
    g = first_circuit()
    with pytest.raises(NodeNotFoundError, match=r"no node named 'qq' in the graph; did you mean 'q'\?"):
        g["qq"]
    with pytest.raises(NodeNotFoundError, match=r"no node named 'qq' in the graph; did you mean 'q'\?"):
        g.backward(output="qq")
    with pytest.raises(NodeNotFoundError, match=r"did you mean 'f'\?"):
        g.jvp(FIRST_CIRCUIT_FEEDS, {"x": 1.0}, output="ff")
    with pytest.raises(NodeNotFoundError, match=r"no node named 'ff' in the trace; did you mean 'f'\?"):
        g.trace.outgoing("ff")
    report = audit(g)
    with pytest.raises(NodeNotFoundError, match=r"no gate node 'qq' in this audit; did you mean 'q'\?; its rows are"):
        report["qq"]
    assert report["q"].gate == gates.AddGate.__name__
