"""Names: node.named(...) and node.name = ... rename safely; lookups, plans, the trace and the views follow."""

import re

import numpy as np
import pytest

from gates import AddGate
from graph import (
    ComputationalGraph,
    DuplicateNameError,
    FeedError,
    GateReuseError,
    NodeNameError,
    NodeNotFoundError,
)

FEEDS = {"x": -2.0, "y": 5.0, "z": -4.0}


def lecture():
    """f = (x + y) z, named as the lecture names it, with operator sugar only."""
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = (x + y).named("q")
    (q * z).named("f")
    return g


def test_named_renames_and_returns_the_node_so_that_it_chains():
    g = lecture()
    q, f = g["q"], g["f"]
    assert g["q"] is q and g["f"] is f and q.name == "q"
    assert [n.name for n in g] == ["x", "y", "z", "q", "f"]
    assert "add_1" not in g and "mul_1" not in g
    assert g.forward(FEEDS) == -12.0
    assert g.backward() == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert (q.value, q.grad) == (3.0, -4.0)


def test_assigning_name_renames_safely():
    # the issue's bug: q.name = "q" left g["q"] failing and g["add_1"] returning the node called q
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = x + y
    q * z
    q.name = "q"
    assert g["q"] is q
    with pytest.raises(NodeNotFoundError, match=r"no node named 'add_1' in the graph; it was renamed to 'q'"):
        g["add_1"]
    assert g.forward(FEEDS) == -12.0 and g.backward()["x"] == -4.0
    assert list(g.dag.nodes) == ["x", "y", "z", "q", "mul_1"]


def test_g_rename_takes_a_node_or_its_name():
    g = lecture()
    q, f = g["q"], g["f"]
    assert g.rename("q", "sum_xy") is q and g.rename(f, "out") is f
    assert [n.name for n in g.nodes] == ["x", "y", "z", "sum_xy", "out"]
    assert g.rename(q, "sum_xy") is q  # its own name: nothing to do


def test_a_renamed_node_keeps_its_place_in_creation_order():
    g = ComputationalGraph()
    a, b, c = g.input("a"), g.input("b"), g.input("c")
    ((a + b) * c).named("out")
    b.named("middle")  # not the last node made: the order must stay
    assert [n.name for n in g.inputs] == ["a", "middle", "c"]
    assert [n.name for n in g] == ["a", "middle", "c", "add_1", "out"]
    assert [n.name for n in g.nodes] == ["a", "middle", "c", "add_1", "out"]


def test_the_old_name_is_free_and_the_counter_skips_taken_names():
    g = ComputationalGraph()
    x = g.input("x")
    first = (x * 2.0).named("add_2")  # a name the add counter will reach
    again = g.add_gate(AddGate(), x, first, name="mul_1")  # the name first gave up
    third = x + again  # add_1
    fourth = x + third  # add_2 is taken: add_3
    assert [first.name, again.name, third.name, fourth.name] == ["add_2", "mul_1", "add_1", "add_3"]


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("f", DuplicateNameError, r"cannot rename node 'q' \(AddGate\) to 'f': a node named 'f' already exists "
         r"\(node 'f' \(MultiplyGate\)\); pick another name, or rename that node first; nothing changed"),
        ("x", DuplicateNameError, r"cannot rename node 'q' \(AddGate\) to 'x': .* already exists \(input 'x'\)"),
        ("", NodeNameError, r"node name must be a non-empty string, got ''"),
        (None, NodeNameError, r"node name must be a non-empty string, got None"),
        (3, NodeNameError, r"node name must be a non-empty string, got 3"),
        ("q\n2", NodeNameError, r"node name 'q\\n2' holds the control character '\\n' \(U\+000A\)"),
        ("q\x00", NodeNameError, r"holds the control character '\\x00' \(U\+0000\)"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("how", ["named", "assign"])
def test_a_duplicate_or_invalid_name_is_refused_and_nothing_changes(name, error, match, how):
    g = lecture()
    x, q, f = g["x"], g["q"], g["f"]
    g.forward(FEEDS)
    g.backward()
    with pytest.raises(error, match=match):
        if how == "named":
            q.named(name)
        else:
            q.name = name
    assert q.name == "q" and g["q"] is q and g["f"] is f and g["x"] is x
    assert [n.name for n in g] == ["x", "y", "z", "q", "f"] and list(g.dag.nodes) == ["x", "y", "z", "q", "f"]
    assert g.backward() == {"x": -4.0, "y": -4.0, "z": 3.0}  # the last forward still stands
    assert g.forward(FEEDS) == -12.0


def test_lookups_suggest_close_names_with_difflib():
    g = lecture()
    with pytest.raises(NodeNotFoundError, match=r"no node named 'qq' in the graph; did you mean 'q'\?"):
        g["qq"]
    with pytest.raises(NodeNotFoundError, match=r"no node named 'ff' in the graph; did you mean 'f'\?"):
        g.forward(FEEDS, outputs="ff")
    with pytest.raises(NodeNotFoundError, match=r"no node named 'nothing_like_it' in the graph$"):
        g["nothing_like_it"]
    with pytest.raises(
        FeedError, match=r"feed 'xx' names no input of the graph; its inputs are 'x', 'y', 'z'; did you"
    ):
        g.forward(xx=1.0, y=1.0, z=1.0)
    g.forward(FEEDS)
    g.backward()
    with pytest.raises(NodeNotFoundError, match=r"no node named 'qq' in the trace; did you mean 'q'\?"):
        g.trace.incoming("qq")


def test_renaming_an_input_renames_its_feed():
    g = lecture()
    x = g["x"]
    x.named("a")
    assert g.forward(a=-2.0, y=5.0, z=-4.0) == -12.0
    assert g.backward() == {"a": -4.0, "y": -4.0, "z": 3.0}
    with pytest.raises(FeedError, match=r"feed 'x' names no input of the graph; its inputs are 'a', 'y', 'z'; "
                       r"it was renamed to 'a'"):  # fmt: skip
        g.forward(x=-2.0, y=5.0, z=-4.0)


def test_a_rename_after_forward_and_backward_keeps_the_pass_and_its_trace():
    g = lecture()
    x, f = g["x"], g["f"]
    g.forward(FEEDS)
    g.backward()
    x.named("a")
    f.named("out")
    # no forward since: the last forward's plan holds nodes, so backward and the trace speak the new names
    assert g.backward() == {"a": -4.0, "y": -4.0, "z": 3.0}
    assert f.backward(grad=2.0) == {"a": -8.0, "y": -8.0, "z": 6.0}
    trace = g.trace
    assert trace.outputs == ("out",) and trace.backward == "out"
    assert trace.order == ("a", "y", "z", "q", "out")
    assert trace.nodes["a"].grad == -8.0 and "x" not in trace.nodes
    assert [(e.source, e.target, e.sent) for e in trace.incoming("out")] == [
        ("q", "out", 2.0 * -4.0),
        ("z", "out", 6.0),
    ]
    assert trace.local_gradient(trace.incoming("out")[0]) == -4.0


def test_cached_plans_follow_a_rename_even_when_names_are_swapped():
    g = lecture()
    q, f = g["q"], g["f"]
    assert g.forward(FEEDS, outputs="f") == -12.0 and g.forward(FEEDS, outputs="q") == 3.0  # both plans cached
    f.named("tmp")
    q.named("f")
    f.named("q")
    # a plan cached under the name "f" must not answer for the node now called f
    assert g.forward(FEEDS, outputs="f") == 3.0 and g.forward(FEEDS, outputs="q") == -12.0
    assert g.forward(FEEDS) == -12.0  # the default output, the multiply, is now called q
    assert g.forward(FEEDS, outputs=["q", "f"]) == {"q": -12.0, "f": 3.0}
    assert g.backward(output="q") == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert g.backward(output="f") == {"x": 1.0, "y": 1.0}


def test_a_gate_node_renamed_is_named_in_the_reuse_message():
    g = lecture()
    x, q = g["x"], g["q"]
    with pytest.raises(GateReuseError, match=r"AddGate instance already stands at node 'q'"):
        g.add_gate(q.gate, x, x)


def test_diagrams_explanations_and_the_animation_follow_a_rename(tmp_path):
    g = ComputationalGraph()
    x, y, z = g.input("x"), g.input("y"), g.input("z")
    q = x + y
    f = q * z
    g.forward(FEEDS)
    g.backward()
    before = g.to_dot().source
    assert "add_1" in before and "mul_1" in before
    q.name = "q"  # after the pass, with no new forward
    f.named("f")
    g.animate(tmp_path / "renamed.html")
    views = {
        "dot": g.to_dot().source,
        "svg": g.to_svg(),
        "explain": g.explain(),
        "animation": (tmp_path / "renamed.html").read_text(),
    }
    for view, text in views.items():
        assert "add_1" not in text and "mul_1" not in text, view
        assert re.search(r"\bq\b", text) and re.search(r"\bf\b", text), view
    assert views["explain"].splitlines()[0].startswith("backward pass from f,")
    for view in ("explain", "animation"):  # the animation's captions are the explanation's lines
        assert "f = q * z" in views[view] and "q = x + y" in views[view], view


def test_a_renamed_graph_runs_as_built_with_arrays_and_parameters():
    g = ComputationalGraph()
    x = g.input("x")
    w = g.parameter("w", np.array([1.0, -2.0]))
    loss = (x * w).sum().named("loss")
    w.named("weights")
    assert g.forward(x=np.array([3.0, 4.0])) == -5.0
    grads = loss.backward()
    assert list(grads) == ["x", "weights"]
    np.testing.assert_array_equal(grads["weights"], [3.0, 4.0])


def test_the_renamed_hint_follows_the_node_and_gives_way_to_a_new_owner():
    g = ComputationalGraph()
    x = g.input("x")
    node = (x * 2.0).named("double")
    node.named("twice")
    with pytest.raises(NodeNotFoundError, match=r"no node named 'mul_1' in the graph; it was renamed to 'twice'"):
        g["mul_1"]
    with pytest.raises(NodeNotFoundError, match=r"no node named 'double' in the graph; it was renamed to 'twice'"):
        g["double"]
    newcomer = (x * 3.0).named("double")  # the old name, free again, taken by another node
    assert g["double"] is newcomer and g["twice"] is node


def test_a_node_of_another_graph_cannot_be_renamed_here():
    g, other = ComputationalGraph(), ComputationalGraph()
    stranger = other.input("v")
    with pytest.raises(NodeNotFoundError, match=r"node 'v' belongs to another graph"):
        g.rename(stranger, "w")
    assert stranger.name == "v" and other["v"] is stranger
