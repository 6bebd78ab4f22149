"""The chapter's question "what if we remove activation functions?", answered on XOR.

    python examples/xor_activations.py

The same 2-8-1 network (sigmoid output with BCE, Adam, the same seed) is
trained on XOR three times: with no activation between its layers, with
ReLU, and with tanh. Without an activation the two layers collapse into one:
``A W1ᵀ W2ᵀ + (b1 W2ᵀ + b2)`` is a single linear layer with weight ``W2 W1``,
so the network can only draw one straight line through the plane and gets
at most 3 of the 4 points right. With either activation it learns XOR.
"""

import numpy as np

from models import MLP, Adam, Linear, Model, evaluate, fit

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y = np.array([0, 1, 1, 0])


def train(model: Model) -> Model:
    fit(model, Adam(model.parameters(), lr=0.05), X, Y, epochs=500, batch_size=4, shuffle=False)
    return model


def main() -> dict:
    results = {}
    linear = train(Model([Linear(2, 8), Linear(8, 1)], loss="bce", dtype=np.float64, seed=0))
    networks = {"no activation": linear}
    for activation in ("relu", "tanh"):
        networks[activation] = train(MLP([2, 8, 1], activation=activation, loss="bce", dtype=np.float64, seed=0))
    for name, model in networks.items():
        scores = evaluate(model, X, Y)
        results[name] = scores["accuracy"]
        outputs = model.predict(X)[:, 0]
        print(
            f"{name:>13}: accuracy {scores['accuracy']:.2f}  loss {scores['loss']:.4f}  "
            f"outputs {np.round(outputs, 3).tolist()}"
        )

    g = linear.graph
    w1, b1, w2, b2 = (g[name].value for name in ("W1", "b1", "W2", "b2"))
    collapsed = X @ (w2 @ w1).T + (b1 @ w2.T + b2)  # one layer: W = W2 W1, b = W2 b1 + b2
    same = np.allclose(collapsed, g.forward({"X": X}, outputs="Z2"))
    print(f"\nwithout activations the network is one linear layer W = W2 W1 (shape {(w2 @ w1).shape}): {same}")
    return results


if __name__ == "__main__":
    main()
