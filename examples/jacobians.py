"""The lecture's point about vectorised gradients, made visible: Jacobians of gates and of a small graph.

    python examples/jacobians.py

An element-wise gate maps each input element to its own output element, so
its Jacobian is diagonal: no gate ever builds it, the backward just multiplies
the upstream gradient element by element. A matrix product's Jacobian is
block-structured, softmax's is full, and a whole graph's Jacobian is what
forward mode computes column by column and reverse mode row by row.
"""

import numpy as np

from gates import MatMulGate, MaxGate, SigmoidGate, SoftmaxGate
from graph import ComputationalGraph, jacobian


def show(title: str, matrix: np.ndarray) -> None:
    print(f"{title}  {matrix.shape[0]}x{matrix.shape[1]}")
    print(np.array2string(matrix, precision=3, suppress_small=True, floatmode="fixed"))
    print()


def main() -> None:
    np.set_printoptions(linewidth=120)
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])

    # The lecture's example: max(0, x) element-wise, whose Jacobian is diagonal with 1 where x won.
    relu_like = jacobian(MaxGate(), x, 0.0)
    show("max(x, 0): the diagonal holds [x >= 0] (ties go to x)", relu_like)
    sigmoid = jacobian(SigmoidGate(), x)
    show("sigmoid(x): the diagonal holds σ(x)(1 - σ(x))", sigmoid)
    off_diagonal = sigmoid - np.diag(np.diag(sigmoid))
    print(f"element-wise gates: every off-diagonal entry is zero: {not off_diagonal.any()}")
    print()

    show("softmax(x): full, diag(z) - z zᵀ; rows sum to 0", jacobian(SoftmaxGate(), x))

    x_matrix = np.arange(6.0).reshape(2, 3)
    w_matrix = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]])
    matmul = jacobian(MatMulGate(), x_matrix, w_matrix)
    show("X @ W with respect to X (2x3 -> 2x2): one block Wᵀ per row of X, kron(I, Wᵀ)", matmul)
    print(f"equals np.kron(np.eye(2), W.T): {np.allclose(matmul, np.kron(np.eye(2), w_matrix.T))}")
    print()

    # A graph: one layer, tanh(W x + b), 3 inputs -> 4 outputs. Forward mode needs 3 jvp passes
    # (one column each), reverse mode 4 backward passes (one row each); "auto" takes forward here.
    rng = np.random.default_rng(0)
    g = ComputationalGraph()
    inputs = g.input("x")
    layer = (g.parameter("W", rng.standard_normal((4, 3))) @ inputs + g.parameter("b", np.zeros(4))).tanh()
    feeds = {"x": np.array([0.5, -1.0, 2.0])}
    by_forward = jacobian(g, feeds, wrt="x", mode="forward")
    by_reverse = jacobian(g, feeds, wrt="x", mode="reverse")
    show(f"{layer.name} = tanh(W x + b) with respect to x, by forward mode (3 jvp passes)", by_forward)
    print(f"reverse mode (4 backward passes) gives the same matrix: {np.allclose(by_forward, by_reverse)}")
    print(f"and one jvp is one column: J @ [1, 0, 0] = {np.round(g.jvp(feeds, {'x': np.array([1.0, 0, 0])}), 3)}")


if __name__ == "__main__":
    main()
