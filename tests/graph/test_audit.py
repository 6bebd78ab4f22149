"""graph.audit: every gate node checked on its own inputs; check_graph names the gate that fails."""

import copy

import numpy as np
import pytest

from gates import Gate, MatMulGate
from graph import AuditRow, BackwardError, ComputationalGraph, GradientCheckError, audit, check_gate, check_graph
from models import MLP
from models.lecture import first_circuit, patterns_circuit, sigmoid_neuron


class DoubledTanhGate(Gate):
    """tanh whose backward has a wrong factor 2."""

    def forward(self, x):
        self.z = np.tanh(x)
        return self.z

    def backward(self, upstream):
        return (2 * upstream * (1 - self.z**2),)


def deep_network(hidden_gate):
    rng = np.random.default_rng(0)
    g = ComputationalGraph()
    x = g.input("x", requires_grad=False)
    w1, w2 = g.parameter("W1", rng.standard_normal((4, 3))), g.parameter("W2", rng.standard_normal((2, 4)))
    hidden = g.add_gate(hidden_gate, x @ w1.T, name="hidden")
    (hidden @ w2.T).sigmoid().mean()
    return g, {"x": rng.standard_normal((5, 3))}


@pytest.mark.parametrize("build", [first_circuit, patterns_circuit, sigmoid_neuron])
def test_the_lecture_circuits_pass_row_by_row(build):
    g = build()
    report = audit(g)
    assert [row.node for row in report] == [n.name for n in g.nodes if n.kind == "gate"]
    assert report.ok and report.failed == []
    assert all(isinstance(row, AuditRow) and row.ok and row.max_error < 1e-8 for row in report)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_mlp_with_softmax_cross_entropy_and_integer_labels_passes(dtype):
    model = MLP([4, 5, 3], seed=0, dtype=dtype)
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(dtype)
    report = audit(model.graph, {"X": x, "Y": np.array([0, 1, 2, 1, 0, 2])})
    assert report.ok, str(report)
    assert report["loss"].gate == "SoftmaxCrossEntropyGate" and report["Z1"].gate == "LinearGate"
    assert model.graph["X"].value.dtype == dtype  # the graph's own values stay as fed


def test_a_wrong_gate_deep_in_a_network_is_the_one_failing_row():
    g, feeds = deep_network(DoubledTanhGate())
    report = audit(g, feeds)
    assert [row.node for row in report.failed] == ["hidden"]
    row = report["hidden"]
    assert row.gate == "DoubledTanhGate" and not row.ok and not report.ok
    assert "input 0 ('matmul_1')" in row.note and "relative error 0.5" in row.note
    assert row.max_error > 0.1


def test_str_is_an_aligned_table_and_html_a_table():
    g, feeds = deep_network(DoubledTanhGate())
    report = audit(g, feeds)
    lines = str(report).splitlines()
    assert lines[0].split() == ["node", "gate", "max_error", "ok", "note"]
    assert len(lines) == len(report) + 2
    assert lines[-1].startswith("1 of 7 gate nodes fail: 'hidden'")
    ok_column = lines[0].index(" ok ") + 1
    assert all(line[ok_column : ok_column + 2] in ("ok", "FA") for line in lines[1:-1])
    page = report._repr_html_()
    assert page.startswith('<table class="gategraph-audit">') and page.count("<tr") == len(report) + 1
    assert "<td>DoubledTanhGate</td>" in page and "FAIL" in page
    assert repr(report) == "<AuditReport: 1 of 7 gate nodes fail: 'hidden'>"


def test_relu_at_exactly_zero_is_noted_as_a_kink_not_failed():
    g = ComputationalGraph()
    x = g.input("x")
    (x * 2.0).relu().sum()
    report = audit(g, {"x": np.array([1.0, 0.0, -1.0])})
    assert report.ok
    assert report["relu_1"].note.startswith("1 element(s) at a kink")
    assert "one-sided slopes" in report["relu_1"].note and report["relu_1"].max_error < 1e-8


def test_a_wrong_gradient_at_a_kink_still_fails():
    class ReLUWrongAtZero(Gate):
        def forward(self, x):
            self.x = x
            return np.maximum(x, 0)

        def backward(self, upstream):
            return (upstream * np.where(self.x >= 0, 1.0, 0.0) + (self.x == 0) * 5 * upstream,)

    g = ComputationalGraph()
    g.add_gate(ReLUWrongAtZero(), g.input("x")).sum()
    assert [row.node for row in audit(g, {"x": np.array([1.0, 0.0])}).failed] == ["reluwrongatzero_1"]


def test_the_graph_is_undisturbed_and_the_next_backward_is_the_same():
    g, feeds = deep_network(DoubledTanhGate())
    g.forward(feeds)
    before = g.backward()
    values = {n.name: copy.deepcopy(n.value) for n in g.nodes}
    grads = {n.name: copy.deepcopy(n.grad) for n in g.nodes}
    caches = {n.name: copy.deepcopy(vars(n.gate)) for n in g.nodes if n.gate is not None}
    audit(g)
    for node in g.nodes:
        np.testing.assert_array_equal(node.value, values[node.name])
        if grads[node.name] is not None:
            np.testing.assert_array_equal(node.grad, grads[node.name])
        if node.gate is not None:
            assert vars(node.gate).keys() == caches[node.name].keys()
            for key, value in caches[node.name].items():
                np.testing.assert_array_equal(vars(node.gate)[key], value, err_msg=f"{node.name}.{key}")
    after = g.backward()
    assert after.keys() == before.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])


def test_audit_before_any_forward_is_a_clear_backward_error():
    g, _ = deep_network(DoubledTanhGate())
    with pytest.raises(BackwardError, match=r"no forward has run: call g.forward\(...\) first, or pass the feeds"):
        audit(g)


def test_check_graph_names_the_gate_node_whose_own_check_fails():
    g, feeds = deep_network(DoubledTanhGate())
    with pytest.raises(GradientCheckError) as failure:
        check_graph(g, feeds)
    message = str(failure.value)
    assert message.startswith("gradient of 'W1', element (")
    assert "Audit: the gate node whose own backward fails its check: node 'hidden' (DoubledTanhGate)" in message
    assert "node 'matmul" not in message and "node 'sigmoid" not in message  # only the wrong gate is named
    fixed, feeds = deep_network(_Tanh())
    assert max(check_graph(fixed, feeds).values()) < 1e-8


class _Tanh(DoubledTanhGate):
    def backward(self, upstream):
        return (upstream * (1 - self.z**2),)


def test_check_gate_on_a_transposed_view_differentiates_the_view():
    """Perturbing through a flattened copy left a Fortran-ordered input unchanged: numeric gradient 0."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)).T  # y: a (3, 4) transposed view
    assert max(check_gate(MatMulGate(), x, y).values()) < 1e-8
    assert max(check_gate(MatMulGate(), np.asfortranarray(rng.standard_normal((3, 2))), x).values()) < 1e-8


def test_a_gate_breaking_the_contract_or_raising_is_a_failing_row_not_a_crash():
    class OneGradient(Gate):
        def forward(self, x, y):
            return x * y

        def backward(self, upstream):
            return (upstream,)

    class RaisesInBackward(Gate):
        def forward(self, x):
            return 2 * x

        def backward(self, upstream):
            raise ValueError("not written yet")

    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(RaisesInBackward(), g.add_gate(OneGradient(), x, x, name="short"), name="raises")
    report = audit(g, {"x": np.ones(2)})
    assert [row.node for row in report.failed] == ["short", "raises"]
    assert report["short"].note == "OneGradient.backward must return a tuple of 2 gradients, one per input"
    assert report["raises"].note == "the check's forward or backward raised ValueError: not written yet"
    assert np.isnan(report["short"].max_error)


def test_a_singular_point_is_a_failing_row_without_warnings():
    g = ComputationalGraph()
    g.input("x").sqrt().sum()
    report = audit(g, {"x": np.array([0.0, 1.0])})  # sqrt'(0) is infinite: nothing to compare
    assert [row.node for row in report.failed] == ["sqrt_1"] and np.isnan(report["sqrt_1"].max_error)
    assert "element (0,): analytic inf vs numeric nan" in report["sqrt_1"].note
