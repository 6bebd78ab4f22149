"""The seed chapter's 3-2-3 network: the graph's gradients beside the hand-derived formulas.

    python examples/chapter_two_layer.py

Three inputs, two sigmoid neurons in layer 1, three sigmoid neurons in layer 2,
binary cross-entropy (multi-label classification), on four examples. The
graph is built from gates (``TwoLayerNet``); backward walks it node by node.
The chapter derives the same four gradients by hand:

    ∂Z2 = A2 - Y                      ③ ∂L/∂W2 = (1/N) ∂Z2ᵀ A1     ④ ∂L/∂b2 = mean₀(∂Z2)
    ∂Z1 = ∂Z2 W2 · A1 · (1 - A1)      ① ∂L/∂W1 = (1/N) ∂Z1ᵀ A0     ② ∂L/∂b1 = mean₀(∂Z1)

Both are printed side by side, then the chapter's update equations
(``SGD``) train the network on the four examples.
"""

import numpy as np

from models import SGD, TwoLayerNet, fit


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def show(label: str, formula: str, from_graph: np.ndarray, closed_form: np.ndarray) -> float:
    difference = float(np.max(np.abs(from_graph - closed_form)))
    print(f"\n{label}  =  {formula}      largest |graph - formula| = {difference:.1e}")
    rows_graph = np.array2string(np.atleast_2d(from_graph), precision=6, suppress_small=True).splitlines()
    rows_formula = np.array2string(np.atleast_2d(closed_form), precision=6, suppress_small=True).splitlines()
    print(f"  {'from the graph':<{len(rows_graph[0]) + 2}}closed form")
    for left, right in zip(rows_graph, rows_formula):
        print(f"  {left:<{len(rows_graph[0]) + 2}}{right}")
    return difference


def main() -> float:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))  # A0: N = 4 examples, n0 = 3 inputs
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float64)  # multi-label targets
    net = TwoLayerNet(3, 2, 3, dtype=np.float64, seed=0)
    print(net.summary())

    loss = net.loss(x, y)
    grads = net.backward()
    g = net.graph
    w1, b1, w2, b2 = (g[name].value for name in ("W1", "b1", "W2", "b2"))
    n = len(x)

    # The chapter's forward and backward, by hand.
    a1 = sigmoid(x @ w1.T + b1)
    a2 = sigmoid(a1 @ w2.T + b2)
    dz2 = a2 - y
    dz1 = dz2 @ w2 * a1 * (1 - a1)
    print(f"\nloss = -(1/N) Σ [Y log A2 + (1 - Y) log(1 - A2)] = {loss:.10f}")

    worst = max(
        show("③ ∂L/∂W2", "(1/N) ∂Z2ᵀ A1", grads["W2"], dz2.T @ a1 / n),
        show("④ ∂L/∂b2", "mean₀(∂Z2)", grads["b2"], dz2.mean(axis=0)),
        show("① ∂L/∂W1", "(1/N) ∂Z1ᵀ A0", grads["W1"], dz1.T @ x / n),
        show("② ∂L/∂b1", "mean₀(∂Z1)", grads["b1"], dz1.mean(axis=0)),
        # The graph keeps ∂Z at its nodes too: the gradient into Z2 is ∂Z2 / N (the 1/N of the loss).
        show("∂L/∂Z2 at node Z2", "(A2 - Y) / N", g["Z2"].grad, dz2 / n),
        show("∂L/∂Z1 at node Z1", "(∂Z2 W2 · A1 · (1 - A1)) / N", g["Z1"].grad, dz1 / n),
    )
    print(f"\nevery gradient agrees with the chapter's formulas to {worst:.1e}")

    print("\nthe chapter's update W := W - η ∂L/∂W, full batch, η = 2:")
    history = fit(net, SGD(net.parameters(), lr=2.0), x, y, epochs=300, batch_size=n, shuffle=False)
    for epoch in (1, 10, 100, 300):
        print(f"  epoch {epoch:3d}  loss {history['loss'][epoch - 1]:.6f}")
    predictions = (net.predict(x) >= 0.5).astype(int)
    print("predictions (A2 >= 0.5):", predictions.tolist())
    print("targets Y:              ", y.astype(int).tolist())
    return worst


if __name__ == "__main__":
    main()
