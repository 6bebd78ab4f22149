"""Diagrams of a graph in the lecture's style: DOT text, SVG, PNG and PDF.

Export reads a graph and never runs it. Leaves and gates are drawn as distinct
shapes; a gate shows its symbol, its node name and its local gradient; each
edge shows the value that flowed forward along it (green, above) and the
gradient that flowed back (red, below), as soon as a forward or a backward
has run. Scopes (``with g.scope("layer1"):``) become clusters, which
``collapse=True`` draws as one box each.

The DOT text needs no program and is byte-identical for the same graph, so it
can be tested; SVG, PNG and PDF need Graphviz's ``dot``.
"""

from __future__ import annotations

import html
import inspect
import os
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphviz
import numpy as np

from graph.errors import GraphvizNotFoundError

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = [
    "to_dot",
    "render",
    "to_svg",
    "mimebundle",
    "format_value",
    "local_formula",
    "RENDER_FORMATS",
    "TEXT_FORMATS",
]

TEXT_FORMATS = ("dot", "gv")
RENDER_FORMATS = ("svg", "png", "pdf")

_INSTALL_HINT = (
    "Graphviz's `{engine}` program was not found on PATH; it draws the diagrams. Install Graphviz: "
    "`sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "or see https://graphviz.org/download/. DOT text needs no program: use to_dot() or render('graph.dot')."
)

# The lecture's palette: values forward in green, gradients backward in red.
VALUE_COLOR = "#1a7f1a"
GRAD_COLOR = "#c8102e"
EXPLAIN_COLOR = "#4b3c8c"
NOTE_COLOR = "#555555"

_SHAPES = {"input": "box", "parameter": "box3d", "constant": "plaintext", "gate": "ellipse"}
_FILLS = {"input": "#e8f1fb", "parameter": "#fdf0dc", "constant": "white", "gate": "white"}
_SCOPE_SHAPE = "folder"
_TIGHT = {"width": "0", "height": "0"}
# Where an edge enters and leaves its label node, for each direction of the drawing.
_PORTS = {"LR": ("w", "e"), "RL": ("e", "w"), "TB": ("n", "s"), "BT": ("s", "n")}


def format_value(value: Any, precision: int = 4, max_elements: int = 6) -> str:
    """A value as a diagram writes it.

    Scalars with ``precision`` significant digits, arrays of at most
    ``max_elements`` elements in full, larger ones as shape, dtype, mean and
    L2 norm.

    Parameters
    ----------
    value : float, numpy array or None
    precision : int, default 4
        Significant digits of each number.
    max_elements : int, default 6
        Arrays with more elements are summarised.

    Examples
    --------
    >>> format_value(-12.0)
    '-12'
    >>> format_value(0.7310585786300049)
    '0.7311'
    >>> format_value(np.array([[1.0, -2.5], [0.125, 3.0]]))
    '[[1, -2.5], [0.125, 3]]'
    >>> format_value(np.ones((64, 10), dtype=np.float32))
    '(64, 10) float32 mean 1 norm 25.3'
    """
    return " ".join(_value_lines(value, precision, max_elements))


def _value_lines(value, precision: int, max_elements: int) -> list[str]:
    """:func:`format_value` as lines: a summarised array's shape and its statistics apart."""
    if value is None:
        return [""]
    if not np.shape(value):
        return [_number(value, precision)]
    array = np.asarray(value)
    if 0 < array.size <= max_elements:
        return [_nested(array, precision)]
    return _summary(array, precision)


def to_dot(
    graph: ComputationalGraph,
    values: bool = True,
    grads: bool = True,
    *,
    explain: bool = False,
    local_gradients: bool = True,
    collapse: bool | Collection[str] = False,
    precision: int = 4,
    max_elements: int = 6,
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The graph as a ``graphviz.Digraph`` drawn like the lecture's circuits.

    Inputs are boxes, parameters 3-D boxes, constants their value in plain
    text and gates ellipses with their symbol, node name and local gradient.
    Each edge is labelled with the forward value (green, above) and the
    gradient sent back along it (red, below) once a forward / backward has
    run; where a node fans out, each edge carries its own branch's gradient. Every graph output
    gets an arrow to nowhere carrying its value and the seed gradient. Hover
    over a gate in the SVG for its class, formula and backward pattern.

    Parameters
    ----------
    graph : ComputationalGraph
    values, grads : bool, default True
        Label edges with forward values / backward gradients, where known.
    explain : bool, default False
        Also write each edge's chain rule, ``upstream × local = downstream``
        (shapes for arrays), and at a node that fans out, the sum of its
        branches' gradients.
    local_gradients : bool, default True
        Write each gate's local-gradient formula under its name.
    collapse : bool or collection of str, default False
        ``True`` draws every top-level scope as one box; a collection of
        scope names (``"net/layer1"``) collapses those only. Edges inside a
        box are hidden; edges from one node into a box are merged, their
        gradients summed.
    precision : int, default 4
        Significant digits of numbers.
    max_elements : int, default 6
        Arrays with more elements are shown as shape, dtype, mean and norm.
    rankdir : {"LR", "TB", "RL", "BT"}, default "LR"
        Direction of the forward pass (left to right as in the lecture).

    Returns
    -------
    graphviz.Digraph
        ``.source`` is the DOT text, identical for the same graph and state.

    Examples
    --------
    >>> from gates import AddGate, MultiplyGate
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y, z = g.input("x"), g.input("y"), g.input("z")
    >>> q = g.add_gate(AddGate(), x, y, name="q")
    >>> f = g.add_gate(MultiplyGate(), q, z, name="f")
    >>> _ = g.forward(x=-2.0, y=5.0, z=-4.0), g.backward()
    >>> source = to_dot(g).source
    >>> print(source.splitlines()[-1])
    }
    >>> '>-12<' in source and '>-4<' in source and '>3<' in source
    True
    """
    if rankdir not in _PORTS:
        raise ValueError(f"rankdir must be one of {', '.join(_PORTS)}, got {rankdir!r}")
    style = _Style(values, grads, explain, local_gradients, precision, max_elements, rankdir)
    nodes = list(graph)
    boxes = _collapsed_scopes(nodes, collapse)
    box_of = {node.name: _box_of(node.scope, boxes) for node in nodes}
    ids = {name: f"c{boxes.index(box)}" if box else f"n{index}" for index, (name, box) in enumerate(box_of.items())}

    def placed_in(node: Node) -> str | None:
        """The scope whose cluster holds what draws ``node``: its own, or its box's parent."""
        box = box_of[node.name]
        return _parent_scope(box) if box else node.scope

    dot = graphviz.Digraph(name="gategraph")
    # ordering=in keeps a gate's arguments in order, top to bottom: x above y in x - y.
    dot.attr(rankdir=rankdir, fontname="Helvetica", nodesep="0.35", ranksep="0.6", newrank="true", ordering="in")
    dot.attr("node", fontname="Helvetica", fontsize="11", style="filled", penwidth="1.2")
    dot.attr("edge", fontname="Helvetica", fontsize="10", arrowsize="0.7", color="#444444")

    tree = _ScopeTree()
    fan_out = _fan_out(nodes) if style.explain and style.grads else {}
    for node in nodes:
        if not box_of[node.name]:
            tree.add(node.scope, ids[node.name], _node_attributes(node, style, fan_out.get(node.name)))
    for box in boxes:
        members = [node for node in nodes if box_of[node.name] == box]
        tree.add(_parent_scope(box), ids[members[0].name], _box_attributes(box, members))

    drawn = []  # (tail, head, label, tooltip, scope of the label)
    for edge in _edges(nodes, ids):
        scope = _common_scope(placed_in(edge.source), placed_in(edge.uses[0][0]))
        drawn.append((edge.tail, edge.head, _edge_text(edge, style), _edge_tooltip(edge), scope))
    for index, node in enumerate(graph.outputs):
        sink = f"out{index}"
        tree.add(None, sink, {"label": "", "shape": "point", "width": "0.01", "style": "invis"})
        label = _edge_label(node.value, node.grad, [], style)
        drawn.append((ids[node.name], sink, label, f"{node.name}: output", placed_in(node)))

    statements = []
    into, out_of = _PORTS[rankdir]
    for index, (tail, head, label, tooltip, scope) in enumerate(drawn):
        tooltip = _plain(tooltip)
        if not label:
            statements.append((tail, head, {"tooltip": tooltip}))
            continue
        # The label is a node on the edge, crossed by a rule that continues the edge: the
        # value sits on one side of the line and the gradient on the other, as in the lecture.
        middle = f"e{index}"
        tree.add(scope, middle, {"label": label, "shape": "plaintext", "style": "solid", "margin": "0", **_TIGHT})
        statements.append((tail, f"{middle}:{into}", {"arrowhead": "none", "tooltip": tooltip}))
        statements.append((f"{middle}:{out_of}", head, {"tooltip": tooltip}))
    tree.emit(dot)
    for tail, head, attributes in statements:
        dot.edge(tail, head, **attributes)
    return dot


def to_svg(graph: ComputationalGraph, *, engine: str = "dot", **options) -> str:
    """The diagram as SVG text; ``options`` are those of :func:`to_dot`.

    Raises
    ------
    GraphvizNotFoundError
        Graphviz's ``dot`` program is not installed.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> f = g.input("x") * 3.0
    >>> _ = g.forward(x=2.0), g.backward()
    >>> svg = to_svg(g)
    >>> svg.lstrip().startswith("<?xml") and ">6<" in svg and ">3<" in svg
    True
    """
    return _pipe(to_dot(graph, **options), "svg", engine).decode("utf-8")


def render(graph: ComputationalGraph, path, *, format: str | None = None, engine: str = "dot", **options):
    """Write the diagram to ``path``, in the format its suffix names.

    Parameters
    ----------
    graph : ComputationalGraph
    path : str or os.PathLike
        ``.svg``, ``.png`` or ``.pdf`` (drawn by Graphviz's ``dot``), or
        ``.dot`` / ``.gv`` (the DOT text, which needs no program). Any other
        output format of Graphviz works with ``format=``.
    format : str, optional
        Overrides the suffix.
    engine : str, default "dot"
        The Graphviz layout program.
    **options
        Those of :func:`to_dot`, e.g. ``explain=True`` or ``collapse=True``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        The format is not one Graphviz writes.
    GraphvizNotFoundError
        A drawn format was asked for and ``dot`` is not installed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> f = g.input("x") * 3.0
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = render(g, pathlib.Path(folder) / "f.dot")
    ...     written.read_text().startswith("digraph gategraph {")
    True
    """
    path = os.fspath(path)
    fmt = (format or os.path.splitext(path)[1].lstrip(".")).lower()
    if fmt not in TEXT_FORMATS and fmt not in graphviz.FORMATS:
        raise ValueError(
            f"cannot tell the format of {path!r}: give a suffix among "
            f"{', '.join('.' + f for f in RENDER_FORMATS + TEXT_FORMATS)}, or format=..."
        )
    dot = to_dot(graph, **options)
    if fmt in TEXT_FORMATS:
        with open(path, "w", encoding="utf-8") as file:
            file.write(dot.source)
    else:
        data = _pipe(dot, fmt, engine)
        with open(path, "wb") as file:
            file.write(data)
    return Path(path)


def mimebundle(graph: ComputationalGraph) -> dict[str, str]:
    """What a notebook shows: the SVG where Graphviz is installed, and the repr."""
    bundle = {"text/plain": repr(graph)}
    if len(graph) and shutil.which("dot"):
        bundle["image/svg+xml"] = to_svg(graph)
    return bundle


# -- pieces of the drawing ---------------------------------------------------------


class _Style:
    """What to write on the diagram, and the formatted values, each computed once."""

    __slots__ = ("values", "grads", "explain", "local_gradients", "precision", "max_elements", "across", "_cache")

    def __init__(self, values, grads, explain, local_gradients, precision, max_elements, rankdir):
        self.values, self.grads, self.explain = bool(values), bool(grads), bool(explain)
        self.local_gradients, self.precision, self.max_elements = bool(local_gradients), precision, max_elements
        self.across = rankdir in ("LR", "RL")  # edges run across the page: value above, gradient below
        self._cache: dict[int, tuple[Any, list[str]]] = {}

    def lines(self, value) -> list[str]:
        """``format_value`` of ``value`` as lines, computed once per object (a summary costs a pass over it)."""
        key = id(value)
        if key not in self._cache:
            # keeping the value alive keeps its id from being reused by a later temporary
            self._cache[key] = (value, _value_lines(value, self.precision, self.max_elements))
        return self._cache[key][1]

    def text(self, value) -> str:
        return " ".join(self.lines(value))


class _Edge:
    """One drawn edge: a source node into a node or a collapsed box."""

    __slots__ = ("source", "tail", "head", "uses")

    def __init__(self, source: Node, tail: str, head: str):
        self.source, self.tail, self.head = source, tail, head
        self.uses: list[tuple[Node, int]] = []  # (gate node, argument position) this edge feeds


def _edges(nodes: list[Node], ids: dict[str, str]) -> list[_Edge]:
    """The drawn edges in creation order of their heads, each node's uses of one source merged."""
    edges: dict[tuple[str, str, str], _Edge] = {}
    for target in nodes:
        for position, source in enumerate(target.inputs):
            tail, head = ids[source.name], ids[target.name]
            if tail == head:
                continue  # inside one collapsed box
            key = (source.name, tail, head)
            if key not in edges:
                edges[key] = _Edge(source, tail, head)
            edges[key].uses.append((target, position))
    return list(edges.values())


def _sent(target: Node, position: int):
    """What ``target``'s last backward sent to its input ``position``, if that input wanted it."""
    if target.input_grads is None or not target.inputs[position].requires_grad:
        return None
    return target.input_grads[position]


def _fan_out(nodes: list[Node]) -> dict[str, list]:
    """The gradients each node received from more than one use, by node name."""
    received: dict[str, list] = {}
    for target in nodes:
        for position, source in enumerate(target.inputs):
            grad = _sent(target, position)
            if grad is not None:
                received.setdefault(source.name, []).append(grad)
    return {name: parts for name, parts in received.items() if len(parts) > 1}


def _node_attributes(node: Node, style: _Style, branches) -> dict[str, str]:
    name = _html(node.name)
    rows = []
    if node.kind == "gate":
        gate = node.gate
        rows.append(f'<font point-size="16"><b>{_html(str(gate.symbol))}</b></font>')
        rows.append(f'<font point-size="9" color="{NOTE_COLOR}">{name}</font>')
        formula = getattr(gate, "local_gradient", "")
        if style.local_gradients and formula:
            rows.append(f'<font point-size="8" color="{NOTE_COLOR}"><i>{_html(formula)}</i></font>')
    elif node.kind == "constant":
        rows.append(f"<b>{_html(style.text(node.value))}</b>")
        rows.append(f'<font point-size="8" color="{NOTE_COLOR}">{name}</font>')
    else:
        rows.append(f"<b>{name}</b>")
        if node.kind == "input" and not node.requires_grad:
            rows.append(f'<font point-size="8" color="{NOTE_COLOR}">data</font>')
    if branches is not None:  # fan-out: the gradients of the branches add up
        total = style.text(node.grad) if node.grad is not None else "?"
        if all(np.size(part) == 1 for part in branches):
            parts = " + ".join(style.text(part) for part in branches)
        else:
            parts = f"{len(branches)} branches"
        rows.append(f'<font point-size="9" color="{GRAD_COLOR}">{_html(f"Σ {parts} = {total}")}</font>')
    return {
        "label": _table(rows),
        "shape": _SHAPES[node.kind],
        "fillcolor": _FILLS[node.kind],
        "tooltip": _plain(_node_tooltip(node, style)),
    }


def _node_tooltip(node: Node, style: _Style) -> str:
    if node.kind == "gate":
        gate = node.gate
        lines = [f"{node.name}: {type(gate).__name__} ({gate.symbol})"]
        lines += [text for text in (getattr(gate, "local_gradient", ""), getattr(gate, "pattern", "")) if text]
    else:
        needs = "" if node.requires_grad else ", needs no gradient"
        lines = [f"{node.name}: {node.kind}{needs}"]
    if node.value is not None:
        lines.append(f"value {_describe(node.value, style)}")
    if node.grad is not None:
        lines.append(f"grad {_describe(node.grad, style)}")
    return "\n".join(lines)


def _describe(value, style: _Style) -> str:
    text = style.text(value)
    shape = np.shape(value)
    return f"{shape} {text}" if shape and not text.startswith("(") else text


def _box_attributes(scope: str, members: list[Node]) -> dict[str, str]:
    gates = [node for node in members if node.kind == "gate"]
    symbols = list(dict.fromkeys(str(node.gate.symbol) for node in gates))
    parameters = [node for node in members if node.kind == "parameter"]
    rows = [f"<b>{_html(scope)}</b>"]
    summary = f"{len(gates)} gate{'s' if len(gates) != 1 else ''}: {', '.join(symbols)}" if gates else "no gates"
    rows.append(f'<font point-size="9" color="{NOTE_COLOR}">{_html(summary)}</font>')
    if parameters:
        count = sum(int(np.size(node.value)) for node in parameters)
        names = ", ".join(node.name for node in parameters)
        rows.append(f'<font point-size="9" color="{NOTE_COLOR}">{_html(names)} ({count} numbers)</font>')
    contents = [f"{node.name}: {node.kind if node.gate is None else type(node.gate).__name__}" for node in members]
    tooltip = "\n".join([f"{scope}: {len(members)} nodes", *contents])
    return {"label": _table(rows), "shape": _SCOPE_SHAPE, "fillcolor": "#f3f3f3", "tooltip": _plain(tooltip)}


def _edge_text(edge: _Edge, style: _Style) -> str:
    """The label of one drawn edge: its value, the gradient sent back along it, the chain rule.

    An edge from a constant has none: the constant's node shows its value, and no gradient flows back.
    """
    if edge.source.kind == "constant":
        return ""
    contributions = [grad for grad in (_sent(target, position) for target, position in edge.uses) if grad is not None]
    grad = None
    if contributions:
        grad = contributions[0]
        for part in contributions[1:]:
            grad = grad + part
    chain = []
    if style.explain and style.grads and len({target.name for target, _ in edge.uses}) == 1:
        chain = [line for line in (_chain_rule(target, position, style) for target, position in edge.uses) if line]
    return _edge_label(edge.source.value, grad, chain, style)


def _edge_tooltip(edge: _Edge) -> str:
    uses = ", ".join(f"{target.name} ({_argument_name(target, position)})" for target, position in edge.uses)
    return f"{edge.source.name} → {uses}"


def _edge_label(value, grad, chain: list[str], style: _Style) -> str:
    """The value on one side of a rule, the gradient and chain rule on the other.

    Across the page (LR) the rule is horizontal, value above and gradient
    below, the two halves of equal height so that the rule sits where the edge
    enters; down the page (TB) it is vertical, value left and gradient right.
    """
    first = _coloured(style.lines(value), VALUE_COLOR) if style.values and value is not None else []
    second = _coloured(style.lines(grad), GRAD_COLOR) if style.grads and grad is not None else []
    second += [f'<font point-size="8" color="{EXPLAIN_COLOR}">{_html(line)}</font>' for line in chain]
    if not first and not second:
        return ""
    table = '<table border="0" cellborder="0" cellspacing="0" cellpadding="2" color="#444444">'
    if style.across:
        height = 14 * max(len(first), len(second), 1)
        return (
            f'<{table}<tr><td height="{height}" width="28" valign="bottom">{"<br/>".join(first)}</td></tr><hr/>'
            f'<tr><td height="{height}" width="28" valign="top">{"<br/>".join(second)}</td></tr></table>>'
        )
    # Equal widths (estimated from the text, about 6 points a character) centre the rule on the edge.
    texts = (style.lines(value) if first else []) + (style.lines(grad) if style.grads and grad is not None else [])
    width = max(14, 6 * max(len(text) for text in texts + chain))
    return (
        f'<{table}<tr><td align="right" width="{width}">{"<br/>".join(first)}</td><vr/>'
        f'<td align="left" width="{width}">{"<br/>".join(second)}</td></tr></table>>'
    )


def _coloured(lines: list[str], color: str) -> list[str]:
    return [f'<font color="{color}">{_html(line)}</font>' for line in lines]


def _chain_rule(target: Node, position: int, style: _Style) -> str:
    """``upstream × local = downstream`` for one argument of a gate, or shapes for arrays."""
    downstream, upstream = _sent(target, position), target.grad
    if downstream is None or upstream is None:
        return ""
    formula = local_formula(target.gate, position, len(target.inputs))
    if np.size(upstream) == 1 and np.size(downstream) == 1:
        up, down = float(np.ravel(upstream)[0]), float(np.ravel(downstream)[0])
        local = _number(down / up, style.precision) if up != 0 else f"[{formula or 'local'}]"
        return f"{_number(up, style.precision)} × {local} = {_number(down, style.precision)}"
    return f"{np.shape(upstream)} × [{formula or 'local'}] → {np.shape(downstream)}"


def local_formula(gate, position: int, arity: int) -> str:
    """The part of ``gate.local_gradient`` about argument ``position``, or all of it.

    ``"dz/dx = y, dz/dy = x"`` has one part per argument, split at ``", "``;
    a formula that does not split into ``arity`` parts is returned whole.

    Examples
    --------
    >>> from gates import ExpGate, MultiplyGate
    >>> local_formula(MultiplyGate(), 1, 2)
    'dz/dy = x'
    >>> local_formula(ExpGate(), 0, 1)
    'dz/dx = exp(x) = z'
    """
    formula = getattr(gate, "local_gradient", "") or ""
    parts = formula.split(", ")
    return parts[position] if len(parts) == arity and arity > 1 else formula


def _argument_name(target: Node, position: int) -> str:
    """The name ``target.gate.forward`` gives argument ``position`` (``x``, ``y``, ``w``...)."""
    try:
        names = [
            p.name
            for p in inspect.signature(target.gate.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    return names[position] if position < len(names) else f"argument {position}"


# -- clusters ------------------------------------------------------------------------------


def _collapsed_scopes(nodes: list[Node], collapse) -> list[str]:
    """The scopes drawn as one box each, in the order their first node was created."""
    if not collapse:
        return []
    scopes = [node.scope for node in nodes if node.scope]
    if collapse is True:
        wanted = {scope.split("/")[0] for scope in scopes}
    else:
        wanted = {str(scope) for scope in ([collapse] if isinstance(collapse, str) else collapse)}
        known = {"/".join(scope.split("/")[:depth]) for scope in scopes for depth in range(1, scope.count("/") + 2)}
        unknown = sorted(wanted - known)
        if unknown:
            raise ValueError(
                f"collapse names no scope of the graph: {', '.join(map(repr, unknown))}; "
                f"its scopes are {', '.join(map(repr, sorted(known))) or 'none'}"
            )
    boxes = []
    for scope in scopes:
        box = _box_of(scope, wanted)
        if box is not None and box not in boxes:
            boxes.append(box)
    return boxes


def _box_of(scope: str | None, boxes) -> str | None:
    """The outermost collapsed scope that contains ``scope``, if any."""
    if not scope or not boxes:
        return None
    parts = scope.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        if prefix in boxes:
            return prefix
    return None


def _parent_scope(scope: str) -> str | None:
    return scope.rpartition("/")[0] or None


def _common_scope(first: str | None, second: str | None) -> str | None:
    """The innermost scope containing both, where the label of an edge between them goes."""
    common = []
    for a, b in zip((first or "").split("/"), (second or "").split("/")):
        if a != b or not a:
            break
        common.append(a)
    return "/".join(common) or None


class _ScopeTree:
    """Node statements grouped by scope, written as nested clusters in creation order."""

    def __init__(self):
        self.items: list[tuple[str, str, dict]] = []  # ("node", id, attributes) or ("scope", name, {})
        self.children: dict[str, _ScopeTree] = {}

    def add(self, scope: str | None, node_id: str, attributes: dict) -> None:
        tree = self
        for part in scope.split("/") if scope else []:
            if part not in tree.children:
                tree.children[part] = _ScopeTree()
                tree.items.append(("scope", part, {}))
            tree = tree.children[part]
        tree.items.append(("node", node_id, attributes))

    def emit(self, dot: graphviz.Digraph, path: str = "") -> None:
        for kind, name, attributes in self.items:
            if kind == "node":
                dot.node(name, **attributes)
                continue
            full = f"{path}/{name}" if path else name
            with dot.subgraph(name=f"cluster_{_cluster_id(full)}") as cluster:
                cluster.attr(
                    label=_table([f"<b>{_html(name)}</b>"]),
                    style="rounded,dashed",
                    color="#888888",
                    fontname="Helvetica",
                    fontsize="11",
                    tooltip=_plain(full),
                )
                self.children[name].emit(cluster, full)


def _cluster_id(scope: str) -> str:
    """A DOT identifier for a scope path: letters and digits kept, anything else as its code point."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"_{ord(ch):x}_" for ch in scope)


# -- text ----------------------------------------------------------------------------------------


def _table(rows: list[str]) -> str:
    """An HTML-like label: one centred row per entry (entries already escaped)."""
    body = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{body}</table>>'


def _html(text: str) -> str:
    """Text safe inside an HTML-like label."""
    return html.escape(str(text), quote=True)


def _plain(text: str) -> str:
    r"""Text safe in a quoted DOT attribute: backslashes and quotes escaped, lines joined by ``\n``."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return graphviz.nohtml("\\n".join(escaped.splitlines()))


def _number(value, precision: int) -> str:
    """One number with ``precision`` significant digits; integers as they are."""
    kind = np.asarray(value).dtype.kind
    if kind in "iub":
        return str(int(value))
    if kind == "c":
        return f"{complex(value):.{precision}g}"
    number = float(value)
    if number == 0:
        return "0"  # not "-0"
    return f"{number:.{precision}g}"


def _nested(array: np.ndarray, precision: int) -> str:
    if array.ndim == 0:
        return _number(array, precision)
    return "[" + ", ".join(_nested(row, precision) for row in array) + "]"


def _summary(array: np.ndarray, precision: int) -> list[str]:
    head = f"{tuple(array.shape)} {array.dtype}"
    if array.size == 0 or array.dtype.kind not in "iufb":
        return [head]
    with np.errstate(all="ignore"):  # inf - inf in a mean is still worth showing, as nan
        data = array.astype(np.float64, copy=False)
        mean = float(np.mean(data))
        norm = float(np.sqrt(np.sum(np.square(data))))
    return [head, f"mean {_number(mean, precision)} norm {_number(norm, precision)}"]


def _pipe(dot: graphviz.Digraph, fmt: str, engine: str) -> bytes:
    if shutil.which(engine) is None:
        raise GraphvizNotFoundError(_INSTALL_HINT.format(engine=engine))
    try:
        return dot.pipe(format=fmt, engine=engine)
    except graphviz.ExecutableNotFound as error:
        raise GraphvizNotFoundError(_INSTALL_HINT.format(engine=engine)) from error
