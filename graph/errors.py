"""The exceptions gategraph raises, one sentence each.

All derive from :class:`GategraphError` and from the builtin that fits, so
``except ValueError`` keeps working for code that does not know them.
"""

from __future__ import annotations

__all__ = [
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
    "FocusError",
]


class GategraphError(Exception):
    """Base class of every error gategraph raises on purpose."""


class NodeNotFoundError(GategraphError, KeyError):
    """A name or node handle does not belong to the graph."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(GategraphError, ValueError):
    """A node name is already taken in the graph."""


class NodeNameError(GategraphError, ValueError, TypeError):
    """A node or scope name is unusable: not a string, empty, or holding control characters."""


class GateReuseError(GategraphError, ValueError):
    """A gate instance already stands at another place in a graph."""


class CycleError(GategraphError, ValueError):
    """A change would make the graph cyclic."""


class FeedError(GategraphError, ValueError):
    """A forward feed is missing, unknown, or not numeric."""


class OutputError(GategraphError, ValueError):
    """``forward(outputs=...)`` asks for nothing the graph can compute."""


class DTypeError(GategraphError, TypeError):
    """A value is not numeric, or has a dtype that cannot be used there."""


class ShapeError(GategraphError, ValueError):
    """An array has a shape that does not fit where it is used."""


class GateError(GategraphError, ValueError):
    """A gate's forward or backward rejected its inputs (shapes, values)."""


class GateContractError(GategraphError, RuntimeError):
    """A gate broke the Gate contract: wrong number or shapes of gradients."""


class BackwardError(GategraphError, RuntimeError):
    """Backward cannot run now: no successful forward, a graph or parameter changed since it, or no seed."""


class NonFiniteError(GategraphError, FloatingPointError):
    """Anomaly detection found NaN or infinity in a value or a gradient."""


class GradientCheckError(GategraphError, AssertionError):
    """An analytic gradient disagrees with the numerical one."""


class GraphvizNotFoundError(GategraphError, RuntimeError):
    """Graphviz's ``dot`` program, which draws SVG, PNG and PDF, is not installed."""


class OnnxExportError(GategraphError, ValueError):
    """The graph cannot be written as ONNX: a gate has no ONNX mapping, or nothing has run forward yet."""


class FocusError(GategraphError, ValueError):
    """``focus=`` names a node from which no path leads to the output."""
