"""graph: the ComputationalGraph, its nodes, gradient checking and errors.

>>> from graph import ComputationalGraph
>>> g = ComputationalGraph()
>>> x, y = g.input("x"), g.input("y")
>>> f = x * y
>>> g.forward(x=3.0, y=-4.0)
-12.0
"""

from graph import errors
from graph.errors import (
    BackwardError,
    CycleError,
    DTypeError,
    DuplicateNameError,
    FeedError,
    GateContractError,
    GateError,
    GategraphError,
    GateReuseError,
    GradientCheckError,
    GraphvizNotFoundError,
    NodeNameError,
    NodeNotFoundError,
    NonFiniteError,
    OnnxExportError,
    OutputError,
    ShapeError,
)
from graph.gradcheck import AuditReport, AuditRow, audit, check_gate, check_graph, numerical_gradient
from graph.graph import ComputationalGraph
from graph.higher_order import hessian, hvp
from graph.jacobian import jacobian
from graph.node import Node
from graph.trace import Trace
from graph.views.onnx_export import export_onnx

__all__ = [
    "ComputationalGraph",
    "Node",
    "Trace",
    "check_gate",
    "check_graph",
    "audit",
    "AuditReport",
    "AuditRow",
    "numerical_gradient",
    "jacobian",
    "hessian",
    "hvp",
    "export_onnx",
    "errors",
    "GategraphError",
    "NodeNotFoundError",
    "DuplicateNameError",
    "NodeNameError",
    "GateReuseError",
    "CycleError",
    "FeedError",
    "OutputError",
    "DTypeError",
    "ShapeError",
    "GateError",
    "GateContractError",
    "BackwardError",
    "NonFiniteError",
    "GradientCheckError",
    "GraphvizNotFoundError",
    "OnnxExportError",
]
