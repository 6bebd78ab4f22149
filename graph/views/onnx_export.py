"""ONNX export: the forward graph as an ONNX model that ONNX Runtime and other runtimes run.

Each gate states its own ONNX operators in ``to_onnx(builder, *inputs)``,
beside its forward, backward and jvp: the mapping of a gate lives with the
gate, a user's own gate can export itself, and this module stays a walk over
the graph that knows no particular gate. Gates only pass strings and numbers
to the :class:`OnnxBuilder`; onnx itself is imported here, and only when an
export runs, so the library works without it (``pip install 'gategraph[onnx]'``).

Inputs become graph inputs whose first axis is a symbolic batch size ``N``,
parameters and constants become initializers, and each gate node's output
tensor carries the node's name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from graph.errors import OnnxExportError
from graph.plan import ancestors
from graph.views.text import output_names

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph

__all__ = ["export_onnx", "OnnxBuilder", "OPSET"]

OPSET = 18  # reductions take their axes as an input from here on; ONNX Runtime >= 1.14 runs it
BATCH = "N"


def export_onnx(
    graph: ComputationalGraph,
    path: str | os.PathLike | None,
    outputs=None,
    *,
    feeds: Mapping[str, Any] | None = None,
    dtype=np.float32,
    dynamic_batch: bool = True,
):
    """Write the forward graph of ``outputs`` as an ONNX model and return it (an ``onnx.ModelProto``).

    Parameters
    ----------
    graph : ComputationalGraph
    path : str or path-like, or None
        Where to write the ``.onnx`` file; None only returns the model.
    outputs : str, Node or list of them, optional
        What the model computes, by default every output of the graph. Only
        their ancestors are exported: export a model's prediction, not its loss.
    feeds : dict, optional
        Example inputs, run forward first. Without them the values of the
        last forward give each input's shape.
    dtype : numpy dtype, default float32
        Element type of the model's inputs, initializers and outputs
        (float32 or float64).
    dynamic_batch : bool, default True
        Make the first axis of every input a symbolic batch size ``N``, so the
        model runs on any batch size. A ``ReshapeGate`` with the batch size
        written into its shape pins it; write ``-1`` there instead.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker.check_model(..., full_check=True)``.

    Raises
    ------
    OnnxExportError
        A gate has no ONNX mapping (naming the node and gate), or no forward
        has run to give the inputs' shapes.
    ModuleNotFoundError
        onnx is not installed.

    Examples
    --------
    >>> import onnxruntime
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, w = g.input("x"), g.parameter("w", np.array([[1.0, -1.0]]))
    >>> y = (x @ w.T).sigmoid()
    >>> model = export_onnx(g, None, feeds={"x": np.zeros((1, 2))})
    >>> session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    >>> batch = np.array([[2.0, 2.0], [3.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    >>> session.run([y.name], {"x": batch})[0].round(4)
    array([[0.5   ],
           [0.8808],
           [0.2689]], dtype=float32)
    """
    onnx = _import_onnx()
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise OnnxExportError(f"ONNX export writes float32 or float64, got dtype {dtype}")
    names = output_names(graph, outputs)
    if feeds is not None:
        graph.forward(feeds, outputs=names)
    needed = ancestors([graph[name] for name in names])
    nodes = [node for node in graph.nodes if node in needed]
    unrun = [node.name for node in nodes if node.value is None]
    if unrun:
        raise OnnxExportError(
            f"no forward has computed {', '.join(map(repr, unrun[:3]))}: run g.forward(...) once, or pass "
            "export_onnx(..., feeds=...), so that the export knows every input's shape"
        )

    builder = OnnxBuilder(onnx, dtype, reserved=[node.name for node in nodes])
    graph_inputs = []
    for node in nodes:
        if node.kind == "input":
            shape: list[int | str] = list(np.shape(node.value))
            if dynamic_batch and shape:
                shape[0] = BATCH
            graph_inputs.append(onnx.helper.make_tensor_value_info(node.name, builder.elem_type, shape))
        elif node.kind in ("parameter", "constant"):
            builder.initializer(node.name, node.value)
        else:
            builder.emit_gate(node)

    graph_outputs = [onnx.helper.make_tensor_value_info(name, builder.elem_type, None) for name in names]
    onnx_graph = onnx.helper.make_graph(
        builder.nodes, "gategraph", graph_inputs, graph_outputs, initializer=builder.initializers
    )
    opsets = [onnx.helper.make_opsetid("", OPSET)]
    model = onnx.helper.make_model(
        onnx_graph,
        opset_imports=opsets,
        producer_name="gategraph",
        ir_version=onnx.helper.find_min_ir_version_for(opsets),
    )
    model = _with_output_shapes(onnx, model)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save(model, os.fspath(path))
    return model


class OnnxBuilder:
    """What a gate's ``to_onnx`` writes into: ONNX operators and constant tensors.

    A gate calls :meth:`op` once per operator and :meth:`constant` for fixed
    operands, and returns the name of its output tensor; the builder gives
    that tensor the gate node's name.
    """

    def __init__(self, onnx, dtype: np.dtype, reserved=()):
        self._onnx = onnx
        self.dtype = dtype
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._names: set[str] = set(reserved)  # the graph's node names, which name their own tensors
        self._prefix = ""

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        """Add the ONNX operator ``op_type`` on tensors ``inputs``; return its output's name.

        ``attributes`` are the operator's attributes, e.g. ``transB=1``.
        """
        name = self._fresh(f"{self._prefix}/{op_type}")
        self.nodes.append(self._onnx.helper.make_node(op_type, list(inputs), [name], name=name, **attributes))
        return name

    def constant(self, value) -> str:
        """A constant operand as an initializer; floats take the model's dtype, integers stay int64."""
        return self.initializer(self._fresh(f"{self._prefix}/constant"), value)

    def initializer(self, name: str, value) -> str:
        array = np.asarray(value)
        array = array.astype(np.int64) if array.dtype.kind in "iu" else array.astype(self.dtype)
        self.initializers.append(self._onnx.numpy_helper.from_array(array, name))
        self._names.add(name)
        return name

    def emit_gate(self, node) -> None:
        """Add ``node``'s gate, its output tensor named after the node."""
        gate = node.gate
        self._prefix = node.name
        first = len(self.nodes)
        try:
            result = gate.to_onnx(self, *(source.name for source in node.inputs))
        except NotImplementedError as error:
            raise OnnxExportError(
                f"node {node.name!r} ({type(gate).__name__}) has no ONNX mapping: {error}. Export the part of "
                "the graph before it with export_onnx(..., outputs=...), or give the gate a to_onnx method"
            ) from None
        produced = self.nodes[first:]
        if any(result in proto.output for proto in produced):
            for proto in produced:  # the gate's last tensor takes the node's name
                for names in (proto.input, proto.output):
                    for index, name in enumerate(names):
                        if name == result:
                            names[index] = node.name
        else:  # the gate passed an input through unchanged
            self.nodes.append(self._onnx.helper.make_node("Identity", [result], [node.name], name=node.name))
        self._names.add(node.name)

    def _fresh(self, base: str) -> str:
        name, count = base, 1
        while name in self._names:
            count += 1
            name = f"{base}_{count}"
        self._names.add(name)
        return name


def _with_output_shapes(onnx, model):
    """Declare each output's shape as ONNX's own shape inference finds it (the batch axis stays ``N``)."""
    inferred = onnx.shape_inference.infer_shapes(model).graph
    types = {info.name: info.type for info in [*inferred.value_info, *inferred.output]}
    for output in model.graph.output:
        if output.name in types:
            output.type.CopyFrom(types[output.name])
    return model


def _import_onnx():
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
        import onnx.shape_inference
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "ONNX export needs the onnx package: pip install 'gategraph[onnx]' (onnx, and onnxruntime to run it)",
            name=error.name,
        ) from None
    return onnx
