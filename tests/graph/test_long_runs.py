"""Long runs hold: memory stays flat over many steps, and the same seed gives the same result."""

import tracemalloc

import numpy as np

from gates import LinearGate, SoftmaxCrossEntropyGate
from graph import ComputationalGraph


def train(steps: int, seed: int, memory_at: tuple[int, ...] = ()) -> tuple[list[np.ndarray], list[int]]:
    """Plain SGD on an MLP built from gates; returns its parameters and traced memory at the given steps."""
    rng = np.random.default_rng(seed)
    g = ComputationalGraph()
    x, labels = g.input("X", requires_grad=False), g.input("labels", requires_grad=False)
    hidden = x
    for i, (n_in, n_out) in enumerate([(20, 32), (32, 32), (32, 4)], start=1):
        with g.scope(f"layer{i}"):
            w = g.parameter(f"W{i}", (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32))
            b = g.parameter(f"b{i}", np.zeros(n_out, np.float32))
            hidden = g.add_gate(LinearGate(), hidden, w, b)
            hidden = hidden.relu() if i < 3 else hidden
    g.add_gate(SoftmaxCrossEntropyGate(), hidden, labels, name="loss")
    data = rng.standard_normal((64, 20)).astype(np.float32)
    targets = (data[:, 0] > 0).astype(int) + 2 * (data[:, 1] > 0)
    memory = []
    for step in range(1, steps + 1):
        batch = rng.choice(64, 16, replace=False)
        g.forward(X=data[batch], labels=targets[batch])
        g.backward()
        for p in g.parameters:
            p.value -= 0.1 * p.grad
        if step in memory_at:
            memory.append(tracemalloc.get_traced_memory()[0])
    return [p.value for p in g.parameters], memory


def test_two_hundred_steps_keep_memory_flat():
    tracemalloc.start()
    try:
        _, (after_20, after_200) = train(200, seed=0, memory_at=(20, 200))
    finally:
        tracemalloc.stop()
    assert after_200 - after_20 < 64 * 1024, f"memory grew by {(after_200 - after_20) / 1024:.0f} KiB"


def test_the_same_seed_gives_the_same_parameters_bit_for_bit():
    first, _ = train(200, seed=3)
    second, _ = train(200, seed=3)
    other, _ = train(200, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
