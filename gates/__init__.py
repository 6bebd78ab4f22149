"""gates: the Gate contract and every gate of gategraph.

A gate is one operation with ``forward(*inputs)``, which computes and caches
what the backward needs, and ``backward(upstream)``, which returns one
gradient per input. This package imports numpy only.
"""

from gates.activation import (
    AbsGate,
    ExpGate,
    LeakyReLUGate,
    LogGate,
    ReLUGate,
    SigmoidGate,
    SoftmaxGate,
    SqrtGate,
    TanhGate,
)
from gates.arithmetic import (
    AddGate,
    DivideGate,
    MaxGate,
    MinGate,
    MultiplyGate,
    NegateGate,
    PowerGate,
    SubtractGate,
)
from gates.base import Gate, shape_of, tangent_sum, unbroadcast
from gates.linalg import LinearGate, MatMulGate, ReshapeGate, TransposeGate
from gates.loss import (
    BinaryCrossEntropyGate,
    BinaryCrossEntropyWithLogitsGate,
    MSELossGate,
    SoftmaxCrossEntropyGate,
)
from gates.reduction import MeanGate, SumGate

__all__ = [
    "Gate",
    "unbroadcast",
    "shape_of",
    "tangent_sum",
    "AddGate",
    "SubtractGate",
    "MultiplyGate",
    "DivideGate",
    "NegateGate",
    "PowerGate",
    "MaxGate",
    "MinGate",
    "ExpGate",
    "LogGate",
    "SqrtGate",
    "AbsGate",
    "SigmoidGate",
    "TanhGate",
    "ReLUGate",
    "LeakyReLUGate",
    "SoftmaxGate",
    "MatMulGate",
    "LinearGate",
    "TransposeGate",
    "ReshapeGate",
    "SumGate",
    "MeanGate",
    "MSELossGate",
    "BinaryCrossEntropyGate",
    "BinaryCrossEntropyWithLogitsGate",
    "SoftmaxCrossEntropyGate",
]
