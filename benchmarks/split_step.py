"""Where the training step's time goes: the gates alone, the engine around them, the optimiser.

The same gate objects the graph would run are called by a bare loop (forward
in order, backward in reverse, ``p -= lr * g``), beside the graph step and
the numpy floor: graph minus bare loop is the engine's bookkeeping, bare loop
minus numpy is the gates' own numpy work. Then the update alone:
``models.SGD.step`` against ``p -= lr * g`` and the floor's in-place update.
Not a goal row: the numbers for benchmarks/README.md's "What is left".

``--parts`` splits the engine's share itself, on one forward and backward of
the graph (no update), with the engine's own public pieces
(``graph.plan.forward_plan``, ``graph.passes.run_forward`` ...):

- ``g.forward`` around ``run_forward`` (feeds merged and checked, leaves
  read, the nodes' values and the pass record set);
- ``run_forward`` around the gates (its loop and checks), against a bare
  loop calling the same gates in the plan's order;
- ``run_backward`` around the gates, against a bare loop over the backward
  plan's steps;
- ``hand_over``: each returned gradient made the caller's own;
- ``g.backward`` around those (versions checked, seed, the nodes' gradients set).

    .venv/bin/python benchmarks/split_step.py [--quick] [--parts]
"""

from __future__ import annotations

import statistics

import common  # first: one BLAS thread
import numpy as np
import training_step
from numpy_mlp import NumpyMLP

from gates import AddGate, LinearGate, MatMulGate, ReLUGate, SoftmaxCrossEntropyGate, TransposeGate
from graph.passes import hand_over, run_backward, run_forward
from graph.plan import backward_plan, forward_plan
from models import SGD

LR = training_step.LR
CONFIGS = ((32, 64, 40, 1.0), (128, 256, 10, 1.0), (512, 1024, 2, 0.5))


def update(params, grads) -> None:
    for param, grad in zip(params, grads):
        param -= LR * grad


def bare_sugar(weights, biases, keep: bool = False, copy: bool = False):
    """``(X @ W1.T + b1).relu() @ W2.T + b2`` and the loss, the eight gates called directly.

    Two of the graph's promises, each added alone to the bare loop: ``keep``
    holds every value and gradient of the step until the next step ends (the
    graph keeps its last pass for ``.value``, ``.grad`` and ``g.trace``);
    ``copy`` gives each weight its gradient in memory of its own (backward
    hands the caller arrays no other node shares, and ``W.T``'s gradient is
    the transpose of ``W``'s).
    """
    (w1, w2), (b1, b2) = [w.copy() for w in weights], [b.copy() for b in biases]
    t1, t2, m1, m2 = TransposeGate(), TransposeGate(), MatMulGate(), MatMulGate()
    a1, a2, relu, loss = AddGate(), AddGate(), ReLUGate(), SoftmaxCrossEntropyGate()
    m1.needs_input_grad, loss.needs_input_grad = (False, True), (True, False)
    kept: list = []

    def step(x, y):
        w1t, w2t = t1.forward(w1), t2.forward(w2)
        product1 = m1.forward(x, w1t)
        z1 = a1.forward(product1, b1)
        hidden = relu.forward(z1)
        product2 = m2.forward(hidden, w2t)
        z2 = a2.forward(product2, b2)
        value = loss.forward(z2, y)
        grad_z2, _ = loss.backward(np.float32(1))
        grad_m2, grad_b2 = a2.backward(grad_z2)
        grad_hidden, grad_w2t = m2.backward(grad_m2)
        grad_z1 = relu.backward(grad_hidden)[0]
        grad_m1, grad_b1 = a1.backward(grad_z1)
        grad_w1t = m1.backward(grad_m1)[1]
        grad_w1, grad_w2 = t1.backward(grad_w1t)[0], t2.backward(grad_w2t)[0]
        if copy:
            grad_w1, grad_w2 = grad_w1.copy(), grad_w2.copy()
        update((w1, b1, w2, b2), (grad_w1, grad_b1, grad_w2, grad_b2))
        if keep:
            kept[:] = [w1t, w2t, product1, z1, hidden, product2, z2, grad_z2, grad_m2, grad_b2, grad_hidden]
            kept.extend([grad_w2t, grad_z1, grad_m1, grad_b1, grad_w1t, grad_w1, grad_w2])
        return value

    return step


def bare_linear(weights, biases):
    """Two LinearGates, a ReLU and the loss called directly."""
    (w1, w2), (b1, b2) = [w.copy() for w in weights], [b.copy() for b in biases]
    layer1, layer2, relu, loss = LinearGate(), LinearGate(), ReLUGate(), SoftmaxCrossEntropyGate()
    layer1.needs_input_grad, loss.needs_input_grad = (False, True, True), (True, False)

    def step(x, y):
        value = loss.forward(layer2.forward(relu.forward(layer1.forward(x, w1, b1)), w2, b2), y)
        grad_hidden, grad_w2, grad_b2 = layer2.backward(loss.backward(np.float32(1))[0])
        _, grad_w1, grad_b1 = layer1.backward(relu.backward(grad_hidden)[0])
        update((w1, b1, w2, b2), (grad_w1, grad_b1, grad_w2, grad_b2))
        return value

    return step


def updates(weights, biases, data):
    """The SGD update alone, three ways, on the gradients of one step."""
    g = training_step.linear_mlp(weights, biases)
    x, y = data[0]
    g.forward(X=x, Y=y)
    g.backward()
    optimizer = SGD(g.parameters, lr=LR)
    params = [p.value for p in g.parameters]
    grads = [p.grad.copy() for p in g.parameters]

    def by_hand():
        update(params, grads)

    scratch = [np.empty_like(grad) for grad in grads]

    def in_place():
        # The floor scales its own gradient in place; a buffer of the optimiser's would do the same.
        for param, grad, scaled in zip(params, grads, scratch):
            np.multiply(grad, LR, out=scaled)
            param -= scaled

    return {"models.SGD.step": optimizer.step, "p -= lr * g": by_hand, "in place, as the floor": in_place}


def engine_parts(g, x, y):
    """One forward and backward of ``g``, whole and in the engine's pieces; the gates as a bare loop beside them."""
    plan = forward_plan(list(g.nodes), list(g.outputs))  # creation order is a topological one: nothing rewired
    back = backward_plan(plan, plan.output_nodes[0])
    values: list = [None] * len(plan.order)
    for leaf in plan.leaves:
        values[leaf.slot] = leaf.node.value
    for read, feed in zip(plan.feeds, (x, y)):  # X and Y, the order the graphs add them
        values[read.slot] = feed
    run_forward(plan, values)
    seed = np.ones((), values[back.output_slot].dtype)

    def gates_forward():
        for step in plan.steps:
            values[step.slot] = step.gate.forward(*[values[i] for i in step.inputs])

    def gates_backward():
        grads = [None] * len(values)
        grads[back.output_slot] = seed
        for step in back.steps:
            result = step.gate.backward(grads[step.slot])
            for slot, grad, wanted in zip(step.inputs, result, step.wanted):
                if wanted:
                    grads[slot] = grad  # these MLPs fan out nowhere: nothing to sum

    def forward_backward():
        g.forward(X=x, Y=y)
        g.backward()

    return {
        "g.forward": lambda: g.forward(X=x, Y=y),
        "run_forward": lambda: run_forward(plan, list(values)),
        "gates' forwards": gates_forward,
        "g.forward + g.backward": forward_backward,
        "run_backward": lambda: run_backward(back, values, seed),
        "run_backward + hand_over": lambda: hand_over(back.results, run_backward(back, values, seed), values),
        "gates' backwards": gates_backward,
    }


def parts(args) -> None:
    """The engine's share split into its pieces: what each costs over what it wraps, at each size."""
    for batch, hidden, steps, share in CONFIGS:
        weights, biases = training_step.initial_weights((784, hidden, 10))
        x, y = training_step.batches(batch, 784, 10)[0]
        rounds = max(3, round(args.rounds * share))
        for kind, build in (("sugar", training_step.sugar_mlp), ("LinearGate", training_step.linear_mlp)):
            g = build(weights, biases)
            runs = {
                name: lambda run=run, steps=steps: common.time_steps(run, steps)
                for name, run in engine_parts(g, x, y).items()
            }
            samples, _ = common.interleaved(runs, rounds, args.warmup)
            us = {name: statistics.median(values) * 1e6 for name, values in samples.items()}
            backward = us["g.forward + g.backward"] - us["g.forward"]
            pieces = {
                "g.forward around run_forward": us["g.forward"] - us["run_forward"],
                "run_forward around the gates": us["run_forward"] - us["gates' forwards"],
                "run_backward around the gates": us["run_backward"] - us["gates' backwards"],
                "hand_over": us["run_backward + hand_over"] - us["run_backward"],
                "g.backward around those": backward - us["run_backward + hand_over"],
            }
            engine = sum(pieces.values())
            gates = us["gates' forwards"] + us["gates' backwards"]
            print(
                f"b{batch} 784-{hidden}-10, {kind}, CPU-time medians of {rounds} rounds: "
                f"the gates {gates:.1f} us, the engine around them {engine:.1f} us"
            )
            for name, value in pieces.items():
                print(f"  {name:32s} {value:7.1f} us")


def main() -> None:
    args = common.arguments(
        __doc__.split("\n\n")[0], rounds=41, warmup=3, switches={"--parts": "split the engine's share into its pieces"}
    )
    if args.parts:
        parts(args)
        return
    for batch, hidden, steps, share in CONFIGS:
        weights, biases = training_step.initial_weights((784, hidden, 10))
        data = training_step.batches(batch, 784, 10)
        reference = NumpyMLP(weights, biases)
        graph_sugar, _ = training_step.graph_step(training_step.sugar_mlp(weights, biases))
        graph_linear, _ = training_step.graph_step(training_step.linear_mlp(weights, biases))
        steps_by_name = {
            "numpy floor": lambda x, y, reference=reference: reference.sgd_step(x, y, LR),
            "LinearGate, bare loop": bare_linear(weights, biases),
            "LinearGate, graph": graph_linear,
            "sugar, bare loop": bare_sugar(weights, biases),
            "sugar, bare + pass kept": bare_sugar(weights, biases, keep=True),
            "sugar, bare + W copies": bare_sugar(weights, biases, copy=True),
            "sugar, graph": graph_sugar,
        }
        runs = {name: training_step.timed(step, data, steps) for name, step in steps_by_name.items()}
        for name, update_run in updates(weights, biases, data).items():
            runs[name] = lambda run=update_run, steps=steps: common.time_steps(run, steps)
        rounds = max(3, round(args.rounds * share))
        samples, _ = common.interleaved(runs, rounds, args.warmup)
        medians = {name: statistics.median(values) * 1e6 for name, values in samples.items()}
        floor = medians["numpy floor"]
        print(f"b{batch} 784-{hidden}-10, CPU-time medians of {rounds} rounds:")
        for name, value in medians.items():
            share_of_floor = f"  {value / floor:.3f}x the floor" if name in steps_by_name else ""
            print(f"  {name:24s} {value:9.1f} us{share_of_floor}")


if __name__ == "__main__":
    main()
