"""The plan: networkx's order (deterministic, creation order breaking ties), cycles, ancestors, named steps."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import graph.builder as builder_module
import graph.plan as plan_module
from gates import AddGate, ExpGate, MultiplyGate, NegateGate
from graph import ComputationalGraph
from graph.errors import CycleError
from graph.node import GateNode, NodeKind
from graph.plan import BackwardStep, ForwardStep, ancestors, backward_plan, cycle_text, forward_plan, topological_order


def names(nodes):
    return [node.name for node in nodes]


def test_ties_are_broken_by_creation_order_within_each_generation():
    g = ComputationalGraph()
    x = g.input("x")
    a = g.add_gate(ExpGate(), x, name="a")  # generation 1
    b = g.add_gate(ExpGate(), a, name="b")  # generation 2
    g.add_gate(NegateGate(), x, name="c")  # generation 1, created after b
    w = g.input("w")  # a leaf created last: generation 0
    g.add_gate(AddGate(), b, w, name="d")
    assert names(g.nodes) == ["x", "w", "a", "c", "b", "d"]
    assert [n.name for n in g] == ["x", "a", "b", "c", "w", "d"]  # iteration keeps creation order


def test_the_order_is_networkx_generations_and_the_same_at_every_build():
    def build():
        g = ComputationalGraph()
        x, y = g.input("x"), g.input("y")
        for _ in range(30):
            x, y = (x * y).tanh(), x + 1.0
        return g

    first, second = build(), build()
    assert names(first.nodes) == names(second.nodes)
    generations = list(nx.topological_generations(first.dag))
    rank = {name: depth for depth, generation in enumerate(generations) for name in generation}
    order = names(first.nodes)
    assert [rank[name] for name in order] == sorted(rank[name] for name in order)
    created = {node.name: index for index, node in enumerate(first)}
    for generation in generations:
        within = [name for name in order if name in generation]
        assert within == sorted(within, key=created.__getitem__)


def test_after_a_rewire_the_order_follows_the_new_wiring():
    g = ComputationalGraph()
    x = g.input("x")
    first = g.add_gate(ExpGate(), x, name="first")
    later = g.add_gate(NegateGate(), x, name="later")
    top = g.add_gate(AddGate(), first, later, name="top")
    assert names(g.nodes) == ["x", "first", "later", "top"]
    g.rewire(first, later)  # first now reads later, created after it
    assert names(g.nodes) == ["x", "later", "first", "top"]
    assert g.forward(x=0.5) == pytest.approx(np.exp(-0.5) - 0.5)
    assert g.backward() == {"x": pytest.approx(-np.exp(-0.5) - 1.0)}
    assert top.requires_grad


def test_forward_and_backward_steps_name_the_same_things_the_same_way():
    assert BackwardStep._fields[: len(ForwardStep._fields)] == ForwardStep._fields
    g = ComputationalGraph()
    x = g.input("x")
    output = (x * 2.0).exp()
    plan = forward_plan(g.nodes, [output])
    assert plan.outputs == ("exp_1",) and names(plan.order) == ["x", "const_1", "mul_1", "exp_1"]
    step = plan.steps[0]
    assert isinstance(step, ForwardStep) and step.node.name == "mul_1" and step.gate is g["mul_1"].gate
    assert [plan.order[slot].name for slot in step.inputs] == ["x", "const_1"] and step.slot == 2
    back = backward_plan(plan, output).steps
    assert all(isinstance(s, BackwardStep) for s in back)
    assert [s.node.name for s in back] == ["exp_1", "mul_1"] and back[1].wanted == (True, False)
    assert g["mul_1"].gate.needs_input_grad == (True, False)  # the gate is told what to skip


def test_the_digraph_is_built_when_a_plan_is_made_not_while_building(monkeypatch):
    built = []
    real = builder_module.digraph
    monkeypatch.setattr(builder_module, "digraph", lambda nodes: built.append(1) or real(nodes))
    g = ComputationalGraph()
    x = g.input("x")
    for _ in range(50):
        x = x * 1.01
    assert built == []
    g.forward(x=1.0)
    g.forward(x=2.0)
    g.backward()
    assert built == [1]
    x.exp()
    g.forward(x=1.0)
    assert built == [1, 1]


def test_the_digraph_a_plan_sorts_is_emptied_after_it_and_the_one_asked_for_is_kept(monkeypatch):
    made = []
    real = builder_module.digraph
    monkeypatch.setattr(builder_module, "digraph", lambda nodes: made.append(real(nodes)) or made[-1])
    g = ComputationalGraph()
    x = g.input("x")
    x.exp() * x
    g.forward(x=1.0)
    assert len(made) == 1 and made[0].number_of_nodes() == 0  # its dicts freed now, not left to the collector
    g.nodes[-1].exp()
    kept = g.dag
    g.forward(x=1.0)
    assert g.dag is kept and kept.number_of_nodes() == 4


def test_each_edge_of_the_digraph_has_attributes_of_its_own():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    total = x + y
    product = total * x
    g.dag.edges["x", total.name]["args"] = (7,)
    assert g.dag.edges["y", total.name]["args"] == (1,)
    assert g.dag.edges[total.name, product.name]["args"] == (0,)
    assert g.dag.edges["x", product.name]["args"] == (1,)


def test_a_plan_works_out_what_to_let_go_only_when_a_pass_keeps_nothing(monkeypatch):
    calls = []
    real = plan_module.last_reads
    monkeypatch.setattr(plan_module, "last_reads", lambda steps, kept: calls.append(1) or real(steps, kept))
    g = ComputationalGraph()
    x = g.input("x")
    (x * 2.0).tanh() + x
    g.forward(x=1.0)
    g.backward()
    assert calls == []
    assert g.forward(x=1.0, keep=False) == g.forward(x=1.0, keep=False) == np.tanh(2.0) + 1.0
    assert calls == [1]  # once per plan


def test_a_cycle_made_behind_the_builders_back_is_found_by_networkx_naming_its_nodes():
    g = ComputationalGraph()
    x = g.input("x")
    a = g.add_gate(ExpGate(), x, name="a")
    b = g.add_gate(ExpGate(), a, name="b")
    a.inputs = (b,)  # not through rewire, which would refuse; before any plan, so nothing is cached
    with pytest.raises(CycleError, match=r"the graph has a cycle: (a -> b -> a|b -> a -> b) \(2 nodes\)"):
        g.forward(x=1.0)


def test_topological_order_names_a_long_cycle_briefly():
    dag = nx.DiGraph([(f"n{i}", f"n{i + 1}") for i in range(999)] + [("n999", "n0")])
    with pytest.raises(CycleError) as found:
        topological_order(dag, {f"n{i}": i for i in range(1000)})
    message = str(found.value)
    assert len(message) < 200 and "(1,000 nodes)" in message and "... (994 more) ..." in message


def test_cycle_text_shows_short_cycles_whole():
    assert cycle_text(["a"]) == "a -> a (1 node)"
    assert cycle_text(["a", "b", "c"]) == "a -> b -> c -> a (3 nodes)"


def test_ancestors_are_what_the_given_nodes_need():
    g = ComputationalGraph()
    x, y, unused = g.input("x"), g.input("y"), g.input("unused")
    square = g.add_gate(MultiplyGate(), x, x, name="square")
    other = g.add_gate(MultiplyGate(), y, 3.0, name="other")
    both = g.add_gate(AddGate(), square, other, name="both")
    assert ancestors([square]) == {square, x}
    assert ancestors([both]) == {both, square, other, x, y, g["const_1"]}
    assert ancestors([x, y]) == {x, y}
    assert unused not in ancestors(g.outputs)
    assert ancestors([]) == set()


def test_plans_run_only_the_ancestors_of_the_outputs_asked_for():
    g = ComputationalGraph()
    x, y = g.input("x"), g.input("y")
    g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(ExpGate(), y, name="grown")
    assert g.forward(x=3.0, outputs="double") == 6.0  # y need not be fed
    assert g.trace.order == ("x", "const_1", "double")


def test_node_kinds_are_an_enum_that_still_compares_as_text():
    g = ComputationalGraph()
    x, w = g.input("x"), g.parameter("w", [1.0])
    product = x * w
    assert x.kind is NodeKind.INPUT and w.kind == "parameter" and f"{product.kind}" == "gate"
    assert isinstance(product, GateNode) and not isinstance(x, GateNode) and x.gate is None
    assert repr(g) == "<ComputationalGraph: 1 inputs, 1 parameters, 0 constants, 1 gates>"


ENGINE = ["builder", "plan", "passes", "trace", "graph", "node", "messages", "values", "errors", "gradcheck"]
ENGINE += ["forward_mode", "jacobian", "views/onnx_export"]


@pytest.mark.parametrize("module", ENGINE)
def test_no_engine_module_imports_a_private_name(module):
    source = Path(__file__).parents[2] / "graph" / f"{module}.py"
    tree = ast.parse(source.read_text())
    private = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and alias.name != "__future__"
    ]
    assert private == []
