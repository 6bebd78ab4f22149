"""Where the training step's time goes: the gates alone, the engine around them, the optimiser.

The same gate objects the graph would run are called by a bare loop (forward
in order, backward in reverse, ``p -= lr * g``), beside the graph step and
the numpy floor: graph minus bare loop is the engine's bookkeeping, bare loop
minus numpy is the gates' own numpy work. Then the update alone:
``models.SGD.step`` against ``p -= lr * g`` and the floor's in-place update.
Not a goal row: the numbers for benchmarks/README.md's "What is left".

    .venv/bin/python benchmarks/split_step.py [--quick]
"""

from __future__ import annotations

import statistics

import common  # first: one BLAS thread
import numpy as np
import training_step
from numpy_mlp import NumpyMLP

from gates import AddGate, LinearGate, MatMulGate, ReLUGate, SoftmaxCrossEntropyGate, TransposeGate
from models import SGD

LR = training_step.LR
CONFIGS = ((32, 64, 40, 1.0), (128, 256, 10, 1.0), (512, 1024, 2, 0.5))


def update(params, grads) -> None:
    for param, grad in zip(params, grads):
        param -= LR * grad


def bare_sugar(weights, biases):
    """``(X @ W1.T + b1).relu() @ W2.T + b2`` and the loss, the eight gates called directly."""
    (w1, w2), (b1, b2) = [w.copy() for w in weights], [b.copy() for b in biases]
    t1, t2, m1, m2 = TransposeGate(), TransposeGate(), MatMulGate(), MatMulGate()
    a1, a2, relu, loss = AddGate(), AddGate(), ReLUGate(), SoftmaxCrossEntropyGate()
    m1.needs_input_grad, loss.needs_input_grad = (False, True), (True, False)

    def step(x, y):
        hidden = relu.forward(a1.forward(m1.forward(x, t1.forward(w1)), b1))
        value = loss.forward(a2.forward(m2.forward(hidden, t2.forward(w2)), b2), y)
        grad_z2, _ = loss.backward(np.float32(1))
        grad_m2, grad_b2 = a2.backward(grad_z2)
        grad_hidden, grad_w2t = m2.backward(grad_m2)
        grad_m1, grad_b1 = a1.backward(relu.backward(grad_hidden)[0])
        grad_w1t = m1.backward(grad_m1)[1]
        update((w1, b1, w2, b2), (t1.backward(grad_w1t)[0], grad_b1, t2.backward(grad_w2t)[0], grad_b2))
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


def main() -> None:
    args = common.arguments(__doc__.split("\n\n")[0], rounds=41, warmup=3)
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
