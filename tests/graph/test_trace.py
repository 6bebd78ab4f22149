"""The trace: what the last forward and backward computed, read by every view."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graph.trace as trace_module
from gates import AddGate, LinearGate, MultiplyGate
from graph import ComputationalGraph
from graph.errors import BackwardError, GateError, NodeNotFoundError, ShapeError
from graph.trace import EdgeRecord, FanOut, NodeRecord, Trace


def lecture_circuit():
    """f = (x + y) z, with the lecture's values."""
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = g.add_gate(AddGate(), x, y, name="q")
    g.add_gate(MultiplyGate(), q, z, name="f")
    return g


FEEDS = {"x": -2.0, "y": 5.0, "z": -4.0}


def test_before_any_forward_every_node_is_unrun():
    g = lecture_circuit()
    trace = g.trace
    assert trace.forward is None and trace.backward is None
    assert trace.order == () and trace.edges == () and trace.fan_outs == ()
    assert all(record.value is None and record.forward is None for record in trace.nodes.values())


def test_after_forward_values_and_edges_but_no_gradients():
    g = lecture_circuit()
    g.forward(FEEDS)
    trace = g.trace
    assert trace.forward == 1 and trace.outputs == ("f",) and trace.backward is None
    assert trace.nodes["q"] == NodeRecord("q", "gate", 3.0, 1, None)
    assert trace.nodes["f"].value == -12.0
    assert trace.incoming("f") == (
        EdgeRecord("q", "f", 0, 3.0, None, None),
        EdgeRecord("z", "f", 1, -4.0, None, None),
    )
    assert trace.fan_outs == () and trace.backward_order == ()


def test_after_backward_each_edge_has_its_upstream_and_what_was_sent():
    g = lecture_circuit()
    g.forward(FEEDS)
    grads = g.backward()
    trace = g.trace
    assert trace.backward == "f" and trace.backward_order == ("f", "q")
    assert trace.incoming("f") == (
        EdgeRecord("q", "f", 0, 3.0, 1.0, -4.0),  # df/dq = z
        EdgeRecord("z", "f", 1, -4.0, 1.0, 3.0),  # df/dz = q
    )
    assert trace.incoming("q") == (
        EdgeRecord("x", "q", 0, -2.0, -4.0, -4.0),
        EdgeRecord("y", "q", 1, 5.0, -4.0, -4.0),
    )
    assert {name: trace.nodes[name].grad for name in grads} == grads
    for node in g.nodes:  # the trace agrees with what users read from the nodes
        assert trace.nodes[node.name].grad == node.grad
        for edge, sent in zip(trace.incoming(node.name), node.input_grads or ()):
            assert edge.sent == sent and edge.upstream == node.grad


def test_fan_out_contributions_in_the_order_backward_added_them():
    g = ComputationalGraph()
    x = g.input("x")
    square = g.add_gate(MultiplyGate(), x, x, name="square")  # two edges from x into one gate
    g.add_gate(MultiplyGate(), square, x, name="cube")
    g.forward(x=3.0)
    g.backward()
    trace = g.trace
    (fan,) = [f for f in trace.fan_outs if f.node == "x"]
    assert [(e.target, e.position) for e in fan.contributions] == [("cube", 1), ("square", 0), ("square", 1)]
    assert [e.sent for e in fan.contributions] == [9.0, 9.0, 9.0]  # x², then x·x twice (upstream 3)
    assert fan.total == 27.0 == x.grad == math.fsum(e.sent for e in fan.contributions)
    assert trace.outgoing("x") == fan.contributions
    assert all(isinstance(f, FanOut) for f in trace.fan_outs)


def test_array_fan_out_total_is_the_sum_of_the_contributions():
    g = ComputationalGraph()
    w = g.parameter("w", np.array([1.0, -2.0, 3.0]))
    loss = (w * w + w.tanh()).sum()
    g.forward()
    g.backward()
    (fan,) = g.trace.fan_outs
    assert fan.node == "w" and len(fan.contributions) == 3
    np.testing.assert_allclose(sum(e.sent for e in fan.contributions), fan.total)
    np.testing.assert_array_equal(fan.total, w.grad)
    assert loss.value == g.trace.nodes[loss.name].value


def test_a_forward_with_other_outputs_marks_the_nodes_it_did_not_run():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(MultiplyGate(), x, x, name="square")
    g.forward(x=3.0)
    g.forward(x=5.0, outputs="double")
    trace = g.trace
    assert trace.forward == 2 and trace.order[-1] == "double"
    assert trace.nodes["double"] == NodeRecord("double", "gate", 10.0, 2, None)
    assert trace.nodes["square"] == NodeRecord("square", "gate", None, None, None)  # stale: not mixed in
    assert g["square"].value == 9.0  # the node keeps the earlier pass's value for users
    assert trace.incoming("square") == ()
    assert "square" not in {e.target for e in trace.edges}


def test_a_trace_is_a_snapshot_of_its_pass():
    g = lecture_circuit()
    g.forward(FEEDS)
    g.backward()
    first = g.trace
    g.forward(x=1.0, y=1.0, z=1.0)
    assert first.forward == 1 and first.nodes["f"].value == -12.0 and first.nodes["x"].grad == -4.0
    assert g.trace.forward == 2 and g.trace.nodes["f"].value == 2.0 and g.trace.nodes["x"].grad is None


def test_a_later_backward_does_not_change_a_trace_taken_before_it():
    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(MultiplyGate(), x, x, name="square")
    g.forward(x=3.0)
    g.backward(output="double")
    before = g.trace
    g.backward(output="square")
    assert before.backward == "double" and before.nodes["x"].grad == 2.0
    assert before.backward_order == ("double",)
    after = g.trace
    assert after.backward == "square" and after.nodes["x"].grad == 6.0 and after.forward == before.forward


def test_a_failed_forward_leaves_the_last_successful_trace():
    g = ComputationalGraph()
    a, b = g.input("a"), g.input("b")
    product = a @ b
    g.forward(a=np.ones((2, 3)), b=np.ones((3, 1)))
    with pytest.raises(GateError):
        g.forward(a=np.ones((2, 3)), b=np.ones((4, 1)))
    trace = g.trace
    assert trace.forward == 1
    np.testing.assert_array_equal(trace.nodes[product.name].value, np.full((2, 1), 3.0))


def test_the_trace_is_read_only():
    g = ComputationalGraph()
    w = g.parameter("w", np.array([1.0, 2.0]))
    (w * w).sum()
    g.forward()
    g.backward()
    trace = g.trace
    with pytest.raises(AttributeError):
        trace.forward = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        trace.nodes["w"] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        trace.nodes["w"].value = None  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        trace.nodes["w"].value[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        trace.edges[0].sent[0] = 5.0
    assert w.value[0] == 1.0
    w.grad[0] = 7.0  # users still own their gradients
    assert w.grad[0] == 7.0


def test_data_and_constants_receive_nothing():
    g = ComputationalGraph()
    x, w = g.input("x", requires_grad=False), g.parameter("w", np.ones((2, 3)))
    b = g.parameter("b", np.zeros(2))
    layer = g.add_gate(LinearGate(), x, w, b, name="layer")
    (layer * 2.0).sum()
    g.forward(x=np.ones((4, 3)))
    g.backward()
    trace = g.trace
    into_layer = trace.incoming("layer")
    assert into_layer[0].sent is None and into_layer[0].upstream is not None
    assert into_layer[1].sent.shape == (2, 3)
    constant = trace.incoming("mul_1")[1]
    assert constant.value == 2.0 and constant.sent is None


def test_local_gradient_is_the_gates_own_derivative_at_the_traced_values():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    t = (x * y).tanh()
    g.forward(x=0.5, y=-1.5)
    trace = g.trace  # no backward needed
    (edge,) = trace.incoming(t.name)
    assert trace.local_gradient(edge) == pytest.approx(1 - math.tanh(-0.75) ** 2)
    into_mul = trace.incoming("mul_1")
    assert [trace.local_gradient(e) for e in into_mul] == [-1.5, 0.5]
    assert g["mul_1"].gate.needs_input_grad == (True, True)  # restored after asking


def test_local_gradient_of_a_reduction_is_shaped_like_its_input():
    g = ComputationalGraph()
    w = g.parameter("w", np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    total = (w * w).sum()
    g.forward()
    trace = g.trace
    local = trace.local_gradient(trace.incoming(total.name)[0])
    assert local.dtype == np.float32
    np.testing.assert_array_equal(local, np.ones((2, 2)))
    with pytest.raises(ShapeError, match=r"shape \(2, 2\).*Jacobian"):
        trace.local_gradient(trace.incoming("mul_1")[0])


def test_local_gradient_refuses_once_the_gates_hold_another_pass():
    g = lecture_circuit()
    g.forward(FEEDS)
    old = g.trace
    g.forward(x=1.0, y=1.0, z=1.0)
    with pytest.raises(BackwardError, match=r"forward 1.*no longer the last forward"):
        old.local_gradient(old.incoming("f")[0])
    assert g.trace.local_gradient(g.trace.incoming("f")[0]) == 1.0  # z of the new pass


def test_unknown_names_are_refused():
    g = lecture_circuit()
    g.forward(FEEDS)
    with pytest.raises(NodeNotFoundError, match="'nope'"):
        g.trace.incoming("nope")


def test_recording_costs_the_passes_no_records(monkeypatch):
    """The passes only keep their lists; records are built when a trace is read, once per trace."""
    made = []

    def counted(*fields):
        made.append(fields[0])
        return NodeRecord(*fields)

    monkeypatch.setattr(trace_module, "NodeRecord", counted)
    g = lecture_circuit()
    for _ in range(5):
        g.forward(FEEDS)
        g.backward()
    assert made == []
    trace = g.trace
    assert isinstance(trace, Trace) and trace.forward == 5 and trace.backward == "f" and made == []
    assert trace.nodes["f"].grad == 1.0 and trace.edges and trace.fan_outs == ()
    assert sorted(made) == ["f", "q", "x", "y", "z"]  # once each, however often the trace is read


def test_the_trace_holds_the_passes_own_arrays_not_copies():
    g = ComputationalGraph()
    w = g.parameter("w", np.ones((300, 300)))
    square = w * w
    square.sum()
    g.forward()
    g.backward()
    trace = g.trace
    assert trace.nodes["w"].value.base is w.value
    assert trace.nodes[square.name].value.base is square.value
    assert np.shares_memory(trace.nodes["w"].grad, w.grad)


def test_parameters_stepped_after_the_traced_pass_are_named_and_the_views_say_their_values_are_todays(tmp_path):
    # The record holds each parameter's own array, which an optimiser updates in place: a diagram drawn after
    # optimizer.step() showed the new weights beside the old pass's gradients, and nothing said so.
    from models import SGD

    g = ComputationalGraph()
    x = g.input("x")
    w = g.parameter("w", np.array([1.0, -2.0]))
    b = g.parameter("b", 0.5)
    loss = ((x * w).sum() + b) ** 2
    loss.name = "loss"
    g.forward(x=np.array([3.0, 4.0]))
    g.backward()
    assert g.trace.changed == ()
    assert "changed since" not in g.explain() and "changed since" not in g.to_dot(legend=True).source
    SGD([w], lr=0.1).step()
    trace = g.trace
    assert trace.changed == ("w",)
    np.testing.assert_array_equal(trace.nodes["w"].value, w.value)  # the value now, as the trace says
    assert "changed since forward 1 (e.g. an optimiser step): w: values shown as they are now" in g.explain()
    drawn = g.to_dot(legend=True).source
    assert "changed since forward 1" in drawn and "w: values shown as they are now" in drawn
    assert "changed since forward 1" in g.animate(tmp_path / "pass.html").read_text()  # the page's summary line
    b.value = 0.0
    assert g.trace.changed == ("w", "b")
    g.forward(x=np.array([3.0, 4.0]))
    assert g.trace.changed == ()
