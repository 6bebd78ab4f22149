"""Optimisers: hand-computed steps always, and torch.optim step by step where torch is installed."""

import math
import tracemalloc

import numpy as np
import pytest

from graph import ComputationalGraph
from models import SGD, Adam, Momentum


def parameter(value):
    g = ComputationalGraph()
    return g.parameter("w", np.asarray(value, dtype=np.float64))


def run(optimizer, node, grads):
    """Feed a fixed gradient sequence through ``optimizer``; values after each step."""
    values = []
    for grad in grads:
        node.grad = np.asarray(grad, dtype=np.float64)
        optimizer.step()
        values.append(node.value.copy())
    return values


# -- hand-computed steps ------------------------------------------------------------


def test_plain_sgd_is_the_chapters_update():
    w = parameter([1.0, -2.0])
    (after,) = run(SGD([w], lr=0.1), w, [[0.5, -1.0]])
    np.testing.assert_array_equal(after, [1.0 - 0.1 * 0.5, -2.0 + 0.1 * 1.0])


def test_sgd_momentum_first_buffer_is_the_gradient_then_accumulates_with_dampening():
    w = parameter([1.0])
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    first, second = run(opt, w, [[2.0], [4.0]])
    # step 1: b = g = 2 (no dampening on the first step); w = 1 - 0.1 * 2
    assert first[0] == pytest.approx(0.8)
    # step 2: b = 0.9 * 2 + 0.5 * 4 = 3.8; w = 0.8 - 0.38
    assert second[0] == pytest.approx(0.42)


def test_sgd_nesterov_steps_along_gradient_plus_momentum_times_buffer():
    w = parameter([0.0])
    first, second = run(SGD([w], lr=0.1, momentum=0.5, nesterov=True), w, [[1.0], [1.0]])
    # step 1: b = 1, g' = 1 + 0.5 * 1 = 1.5; step 2: b = 0.5 + 1 = 1.5, g' = 1 + 0.75 = 1.75
    assert first[0] == pytest.approx(-0.15)
    assert second[0] == pytest.approx(-0.15 - 0.175)


def test_sgd_weight_decay_adds_decay_times_parameter_to_the_gradient():
    w = parameter([2.0])
    (after,) = run(SGD([w], lr=0.1, weight_decay=0.01), w, [[1.0]])
    assert after[0] == pytest.approx(2.0 - 0.1 * (1.0 + 0.01 * 2.0))


def test_momentum_class_is_sgd_with_momentum_point_nine():
    w1, w2 = parameter([1.0, 2.0]), parameter([1.0, 2.0])
    grads = [[0.1, -0.3], [0.2, 0.5], [-0.4, 0.1]]
    a = run(Momentum([w1], lr=0.05), w1, grads)
    b = run(SGD([w2], lr=0.05, momentum=0.9), w2, grads)
    np.testing.assert_array_equal(a, b)


def test_adam_two_steps_by_hand():
    w = parameter([1.0])
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    first, second = run(Adam([w], lr=lr), w, [[2.0], [-1.0]])
    m1, v1 = (1 - b1) * 2.0, (1 - b2) * 4.0
    expected1 = 1.0 - lr / (1 - b1) * m1 / (math.sqrt(v1) / math.sqrt(1 - b2) + eps)
    assert first[0] == pytest.approx(expected1, rel=1e-12)
    m2, v2 = b1 * m1 + (1 - b1) * -1.0, b2 * v1 + (1 - b2) * 1.0
    expected2 = expected1 - lr / (1 - b1**2) * m2 / (math.sqrt(v2) / math.sqrt(1 - b2**2) + eps)
    assert second[0] == pytest.approx(expected2, rel=1e-12)


def test_adam_eps_is_added_after_the_bias_corrected_square_root():
    # A gradient so small that eps dominates: where eps sits changes the step a lot.
    w = parameter([0.0])
    (after,) = run(Adam([w], lr=1.0, eps=1e-3), w, [[1e-6]])
    # m̂ = 1e-6, sqrt(v̂) = 1e-6: step = 1e-6 / (1e-6 + 1e-3)
    assert after[0] == pytest.approx(-1e-6 / (1e-6 + 1e-3), rel=1e-9)


def test_adam_weight_decay_is_l2_added_to_the_gradient():
    w, reference = parameter([3.0]), parameter([3.0])
    (decayed,) = run(Adam([w], lr=0.1, weight_decay=0.5), w, [[1.0]])
    (plain,) = run(Adam([reference], lr=0.1), reference, [[1.0 + 0.5 * 3.0]])
    assert decayed[0] == plain[0]


def test_amsgrad_uses_the_running_maximum_of_the_second_moment():
    w = parameter([0.0])
    opt = Adam([w], lr=0.1, amsgrad=True)
    run(opt, w, [[10.0], [0.1]])
    state = opt.state[0]
    assert state["max_exp_avg_sq"][0] > state["exp_avg_sq"][0]


def test_float32_parameters_stay_float32_and_are_updated_in_place():
    g = ComputationalGraph()
    w = g.parameter("w", np.ones(3, dtype=np.float32))
    array = w.value
    for optimizer in (SGD([w], lr=0.1, momentum=0.9), Adam([w])):
        w.grad = np.full(3, 0.5, dtype=np.float32)
        optimizer.step()
        assert w.value is array and w.value.dtype == np.float32


def test_adam_in_float32_is_the_docstrings_formulas_to_the_last_bit_with_one_temporary():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(256, 256)).astype(np.float32)
    grads = [rng.normal(size=start.shape).astype(np.float32) for _ in range(3)]
    w = ComputationalGraph().parameter("w", start.copy())
    optimizer = Adam([w], lr=0.01, weight_decay=0.1)
    theta, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    tracemalloc.start()
    try:
        for t, grad in enumerate(grads, 1):
            w.grad = grad
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            optimizer.step()
            # the weight-decayed gradient and one scratch array (the first step also makes m and v)
            allowed = (2 + 2 * (t == 1)) * start.nbytes
            assert tracemalloc.get_traced_memory()[1] - base < allowed * 1.05
            g = grad + 0.1 * theta
            m = 0.9 * m + (1 - 0.9) * g
            v = 0.999 * v + (1 - 0.999) * (g * g)
            theta = theta - 0.01 / (1 - 0.9**t) * (m / (np.sqrt(v) / math.sqrt(1 - 0.999**t) + 1e-8))
            assert w.value.dtype == np.float32
            np.testing.assert_array_equal(w.value, theta)
    finally:
        tracemalloc.stop()


def test_step_leaves_parameters_without_gradient_alone_and_zero_grad_clears():
    g = ComputationalGraph()
    a, b = g.parameter("a", np.ones(2)), g.parameter("b", np.ones(2))
    (a * 3.0).sum()
    g.forward()
    g.backward()
    opt = SGD([a, b], lr=0.1)
    opt.step()
    np.testing.assert_allclose(a.value, [0.7, 0.7])
    np.testing.assert_array_equal(b.value, [1.0, 1.0])  # b feeds nothing: no gradient, no step
    opt.zero_grad()
    assert a.grad is None
    opt.step()  # nothing to do after zero_grad
    np.testing.assert_allclose(a.value, [0.7, 0.7])


def test_backward_overwrites_so_forgetting_zero_grad_does_not_sum_batches():
    g = ComputationalGraph()
    w = g.parameter("w", np.array([1.0]))
    x = g.input("x", requires_grad=False)
    (w * x).sum()
    for _ in range(3):
        g.forward(x=np.array([2.0]))
        g.backward()
    assert w.grad[0] == 2.0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: SGD(p, lr=-1), "learning rate"),
        (lambda p: SGD(p, momentum=-0.1), "momentum"),
        (lambda p: SGD(p, nesterov=True), "Nesterov"),
        (lambda p: SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda p: Adam(p, betas=(1.0, 0.999)), "betas"),
        (lambda p: Adam(p, eps=-1), "eps"),
        (lambda p: Adam(p, weight_decay=-1), "weight_decay"),
        (lambda p: SGD([], lr=0.1), "empty"),
    ],
)
def test_bad_hyperparameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make([parameter([1.0])])


def test_only_parameter_nodes_are_accepted():
    g = ComputationalGraph()
    x = g.input("x")
    with pytest.raises(TypeError, match="parameter nodes"):
        SGD([x], lr=0.1)


def test_repr_shows_the_settings():
    assert repr(SGD([parameter([1.0])], lr=0.1, momentum=0.9)).startswith("SGD(1 parameters, lr=0.1, momentum=0.9")


# -- torch.optim as the oracle ------------------------------------------------------------

TORCH_CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.003, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
]


@pytest.mark.parametrize(("name", "settings"), TORCH_CASES)
def test_matches_torch_optim_step_by_step(name, settings):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    start = rng.normal(size=(3, 4))
    grads = rng.normal(size=(12, 3, 4)) * rng.uniform(0.01, 10, size=(12, 1, 1))
    ours = parameter(start)
    optimizer = {"SGD": SGD, "Adam": Adam}[name]([ours], **settings)
    theirs = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    torch_optimizer = getattr(torch.optim, name)([theirs], **settings)
    for grad in grads:
        ours.grad = grad
        optimizer.step()
        theirs.grad = torch.tensor(grad)
        torch_optimizer.step()
        np.testing.assert_allclose(ours.value, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_training_an_mlp_matches_torch_for_twenty_adam_steps():
    torch = pytest.importorskip("torch")
    from models import MLP

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(16, 5)), rng.integers(0, 3, size=16)
    model = MLP([5, 8, 3], activation="tanh", dtype=np.float64, seed=1)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for layer, index in ((net[0], 1), (net[2], 2)):
            layer.weight.copy_(torch.tensor(model.graph[f"W{index}"].value))
            layer.bias.copy_(torch.tensor(model.graph[f"b{index}"].value))
    optimizer = Adam(model.parameters(), lr=0.01, weight_decay=0.001)
    torch_optimizer = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=0.001)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(20):
        ours = model.loss(x, y)
        model.backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        theirs = loss_fn(net(torch.tensor(x)), torch.tensor(y))
        theirs.backward()
        torch_optimizer.step()
        assert ours == pytest.approx(theirs.item(), rel=1e-10)
    np.testing.assert_allclose(model.graph["W1"].value, net[0].weight.detach().numpy(), rtol=1e-9)
