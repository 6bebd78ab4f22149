"""Diagrams of a graph in the lecture's style: DOT text, SVG, PNG and PDF (and TikZ, through :mod:`graph.views.tikz`).

The diagram reads the engine's trace of the last pass (through
:class:`graph.views.record.LastPass`) and never runs the graph. Leaves and
gates are drawn as distinct shapes; a gate shows its symbol, its node name
and its local gradient; each edge shows the value that flowed forward along
it (green, above) and the gradient that flowed back (red, below), as soon as
a forward or a backward has run. Only the last forward and backward are
shown: a node the last forward did not run is drawn without values. Scopes
(``with g.scope("layer1"):``) become clusters, which ``collapse=True`` draws
as one box each (its gates counted by kind, its parameters by name and shape,
no line longer than :data:`graph.views.text.LINE_WIDTH` characters). A
network's top-level scopes are laid out in rows that fit a slide (``rows=``).

The DOT text needs no program and is byte-identical for the same graph, so it
can be tested; SVG, PNG and PDF need Graphviz's ``dot``.

What the SVG says about itself
------------------------------
:func:`to_svg` (and :func:`render` to ``.svg``) marks every part of the
drawing with classes and ``data-`` attributes, so that a page or a script
finds them without knowing colours or Graphviz's ids:

``<g class="node gg-node" data-node="q" data-kind="gate">``
    One node of the graph; ``data-kind`` is input, parameter, constant or gate.
``<g class="node gg-box" data-scope="net">``
    A collapsed scope (``collapse=``), drawn as one box.
``<g class="node gg-continued" data-continues="A1">``
    Where a network is drawn in rows: the "→ next row" that ends an edge
    leaving its row, and the dashed copy of its source that starts the next.
``<g class="node gg-legend">``
    The legend (``legend=True``), its lines ``gg-legend-value``,
    ``gg-legend-grad``, ``gg-legend-local`` and, with ``focus=``, ``gg-legend-focus``.
``<g class="... gg-edge" data-source="x" data-target="q">``
    Every piece of one drawn edge: its lines (``class="edge gg-edge"``) and,
    where it has a label, the label (``class="node gg-edge gg-edge-label"``).
    An end that is a collapsed box is ``data-source-scope`` or
    ``data-target-scope`` instead; an output's arrow to nowhere has no target
    and the class ``gg-output``.
``gg-focus`` and ``gg-faded`` on nodes, boxes and edges (``focus=``)
    On a path from the focused node to the output (drawn thicker), or off
    every such path (drawn in faded colours).
``<text class="...">`` inside them
    ``gg-value`` a value that flowed forward (on an edge, or a constant's
    own); ``gg-grad`` a gradient that flowed back; ``gg-chain`` a chain-rule
    line (``explain=True``); ``gg-local`` a gate's local-gradient formula;
    ``gg-sum`` the sum of a fan-out's branches; ``gg-symbol`` a gate's
    symbol; ``gg-name`` a node's or scope's name; ``gg-note`` any other line.

Element ids are Graphviz's statement names and carry no meaning.
"""

from __future__ import annotations

import functools
import html
import itertools
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import graphviz
import numpy as np

from graph.errors import GraphvizNotFoundError
from graph.views.focus import Focus, focus_on
from graph.views.record import LastPass
from graph.views.text import (
    chain_rule,
    changed_lines,
    contents_lines,
    fan_out_sum,
    local_formula,
    node_formulas,
    node_tooltip,
    value_lines,
    wrapped,
)

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = [
    "to_dot",
    "render",
    "to_svg",
    "mimebundle",
    "RENDER_FORMATS",
    "TEXT_FORMATS",
    "BITMAP_FORMATS",
    "VALUE_COLOR",
    "GRAD_COLOR",
    "Theme",
    "THEMES",
]

TEXT_FORMATS = ("dot", "gv")
RENDER_FORMATS = ("svg", "png", "pdf")
BITMAP_FORMATS = ("png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp")

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


class Theme(NamedTuple):
    """The colours of a diagram, by what they draw, and how values and gradients are told apart in print.

    ``value_tag``, ``grad_tag`` and ``local_tag`` are HTML-like tags (``"i"``,
    ``"b"``) that wrap values, gradients and local-gradient formulas, or ``""``.
    """

    background: str
    ink: str  # node outlines and names
    edge: str
    value_color: str
    grad_color: str
    explain: str
    note: str
    input: str  # fills, by kind of node
    parameter: str
    constant: str
    gate: str
    box: str  # a collapsed scope's fill
    cluster: str  # a scope's dashed outline
    value_tag: str = ""
    grad_tag: str = ""
    local_tag: str = "i"


# light: the lecture's palette (its value and gradient colours are VALUE_COLOR and GRAD_COLOR, which the
# animation's page also reads); dark: for a projector on a dark slide; print: black and white, gradients in
# italic and values upright since colour may not print.
THEMES = {
    "light": Theme(
        "white", "black", "#444444", VALUE_COLOR, GRAD_COLOR, EXPLAIN_COLOR, NOTE_COLOR,
        "#e8f1fb", "#fdf0dc", "white", "white", "#f3f3f3", "#888888",
    ),
    "dark": Theme(
        "#1e1f24", "#e8e8e8", "#b8b8b8", "#7fdc7f", "#ff8a95", "#b9acff", "#b4b4b4",
        "#21405f", "#4d3b16", "#1e1f24", "#2c2e35", "#33353c", "#8a8a8a",
    ),
    "print": Theme(
        "white", "black", "black", "black", "black", "black", "#444444",
        "white", "#eeeeee", "white", "white", "#eeeeee", "#666666", "", "i", "",
    ),
}  # fmt: skip


def _theme(name: str) -> Theme:
    """The theme called ``name``; the light one with the module's current VALUE_COLOR and GRAD_COLOR."""
    if name not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(map(repr, THEMES))}, got {name!r}")
    return THEMES[name]._replace(value_color=VALUE_COLOR, grad_color=GRAD_COLOR) if name == "light" else THEMES[name]


# How far a faded part's colours move towards the background: far enough to recede, not so far that it vanishes.
_FADE = 0.72


def _faded(theme: Theme) -> Theme:
    """``theme`` with every colour but the background moved towards the background: for what ``focus=`` fades."""
    colours = {
        name: _blend(getattr(theme, name), theme.background, _FADE)
        for name in Theme._fields
        if name != "background" and not name.endswith("_tag")
    }
    return theme._replace(**colours)


def _blend(colour: str, background: str, amount: float) -> str:
    """``colour`` moved ``amount`` (0 to 1) of the way to ``background``; both ``#rrggbb``, ``white`` or ``black``.

    >>> _blend("black", "white", 0.5), _blend("#c8102e", "#ffffff", 0.0)
    ('#808080', '#c8102e')
    """
    named = {"white": "#ffffff", "black": "#000000"}
    first, second = (named.get(value, value).lstrip("#") for value in (colour, background))
    mixed = (round(int(first[i : i + 2], 16) * (1 - amount) + int(second[i : i + 2], 16) * amount) for i in (0, 2, 4))
    return "#" + "".join(f"{part:02x}" for part in mixed)


def _emphasise(attributes: dict[str, str], classes: list[str], theme: Theme, on: bool | None, edge: bool = False):
    """Draw a part on a focused path thicker (``gg-focus``), one off them in ``theme``'s ink (``gg-faded``, with
    ``theme`` the faded one); nothing without a focus."""
    if on is None:
        return
    classes.append("gg-focus" if on else "gg-faded")
    if on:
        attributes.update(penwidth="2.8" if edge else "2.6", **({"color": theme.ink} if edge else {}))
    elif edge:
        attributes.update(color=theme.edge, fontcolor=theme.ink)
    else:
        attributes.update(color=theme.ink, fontcolor=theme.ink)


_SCOPE_SHAPE = "folder"
# Graphviz's spacing between nodes in a rank and between ranks, in inches; compact: the animation's layout.
_SPACING = {"nodesep": "0.35", "ranksep": "0.6"}
_COMPACT = {"nodesep": "0.2", "ranksep": "0.25"}
_TIGHT = {"width": "0", "height": "0"}
# Where an edge enters and leaves its label node, for each direction of the drawing.
_PORTS = {"LR": ("w", "e"), "RL": ("e", "w"), "TB": ("n", "s"), "BT": ("s", "n")}


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
    compact: bool = False,
    theme: str = "light",
    legend: bool = False,
    focus: Node | str | None = None,
    rows: int | None = None,
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
    compact : bool, default False
        Tighter spacing, so that a lecture circuit fits a screen's width at a
        readable size (the animation's layout).
    theme : {"light", "dark", "print"}, default "light"
        The colours (:data:`THEMES`): the lecture's on white, light on a dark
        background, or black and white with gradients in italic.
    legend : bool, default False
        A key to what the diagram writes: value, gradient, local gradient
        (:func:`render` and the notebook draw it by default).
    focus : Node or str, optional
        Highlight the paths from the output (the node the last backward
        started from) back to this node: their nodes and edges drawn thicker,
        everything else in faded colours, in every theme. A collapsed box is
        highlighted where a path runs through it.
    rows : int, optional
        Lay the top-level scopes (a network's layers) out in this many rows,
        read like lines of text: each row starts at the left and the edge
        from one row's end to the next row's start wraps round. By default
        (left to right) as many rows as make the drawing fit a 16:9 slide
        largest, judged from the length of its text; one row, as for a graph
        without scopes, lays every layer on one line. Down the page (TB, BT)
        the default is one column; ``rows=`` gives columns.

    Returns
    -------
    graphviz.Digraph
        ``.source`` is the DOT text, identical for the same graph and state.

    Raises
    ------
    NodeNotFoundError
        ``focus`` names no node of the graph.
    FocusError
        ``focus`` does not reach the output.

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
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise ValueError(f"rows must be a positive whole number of rows, or None to fit a slide; got {rows!r}")
    style = _Style(values, grads, explain, local_gradients, precision, max_elements, rankdir, _theme(theme))
    if focus is not None:
        style.focus = focus_on(graph, focus)
    last = LastPass(graph)
    dot = _draw(last, style, collapse, compact, rows)
    if legend:
        changed = changed_lines(last.trace) if values else []
        _add_legend(dot, style, changed, "out0" if graph.outputs else None)  # out0: the first output's arrow's end
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
    >>> 'data-node="x"' in svg and 'class="gg-grad"' in svg
    True
    """
    return _svg(to_dot(graph, **options), engine)


def render(
    graph: ComputationalGraph,
    path,
    *,
    format: str | None = None,
    engine: str = "dot",
    dpi: float | None = None,
    legend: bool = True,
    **options,
):
    """Write the diagram to ``path``, in the format its suffix names.

    Parameters
    ----------
    graph : ComputationalGraph
    path : str or os.PathLike
        ``.svg``, ``.png`` or ``.pdf`` (drawn by Graphviz's ``dot``), or
        ``.dot`` / ``.gv`` (the DOT text, which needs no program), or ``.tex``
        (a TikZ picture of the same layout, or with ``steps=True`` beamer
        slides; see :func:`graph.views.tikz.to_tikz`). Any other output
        format of Graphviz works with ``format=``.
    format : str, optional
        Overrides the suffix.
    engine : str, default "dot"
        The Graphviz layout program.
    dpi : float, optional
        Resolution of a bitmap (``.png``...), Graphviz's ``dpi``: 96 when
        not given, 300 for print. Vector formats are drawn in points.
    legend : bool, default True
        A key to the diagram's writing (value, gradient, local gradient).
    **options
        Those of :func:`to_dot`, e.g. ``explain=True``, ``collapse=True``,
        ``theme="print"`` or ``legend=False``;
        for ``.tex`` also ``steps=`` and ``document=``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        The format is not one Graphviz writes, or ``dpi`` is not a positive
        number or is given for a format that is not a bitmap.
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
    if fmt == "tex":
        from graph.views.tikz import write_tikz  # the TikZ view reads this module: imported when asked for

        return write_tikz(graph, path, engine=engine, legend=legend, **options)
    if "steps" in options or "document" in options:
        raise ValueError(f"steps= and document= are options of TikZ output: give a .tex path, not {path!r}")
    if dpi is not None and fmt not in BITMAP_FORMATS:
        raise ValueError(
            f"dpi= sets the resolution of a bitmap ({', '.join('.' + f for f in BITMAP_FORMATS)}); "
            f"{path!r} is drawn in points: scale it where it is shown instead"
        )
    if dpi is not None and not (isinstance(dpi, (int, float)) and not isinstance(dpi, bool) and 0 < dpi < 10_000):
        raise ValueError(f"dpi must be a positive number of dots per inch (96 on screen, 300 for print), got {dpi!r}")
    if fmt not in TEXT_FORMATS and fmt not in graphviz.FORMATS:
        raise ValueError(
            f"cannot tell the format of {path!r}: give a suffix among "
            f"{', '.join('.' + f for f in RENDER_FORMATS + TEXT_FORMATS)}, .tex, or format=..."
        )
    dot = to_dot(graph, legend=legend, **options)
    if dpi is not None:
        dot.attr(dpi=f"{dpi:g}")
    if fmt in TEXT_FORMATS:
        with open(path, "w", encoding="utf-8") as file:
            file.write(dot.source)
    else:
        data = _svg(dot, engine).encode("utf-8") if fmt == "svg" else _pipe(dot, fmt, engine)
        with open(path, "wb") as file:
            file.write(data)
    return Path(path)


def mimebundle(graph: ComputationalGraph) -> dict[str, str]:
    """What a notebook shows: the SVG where Graphviz is installed, and the repr."""
    bundle = {"text/plain": repr(graph)}
    if len(graph) and shutil.which("dot"):
        bundle["image/svg+xml"] = to_svg(graph, legend=True)
    return bundle


# -- pieces of the drawing ---------------------------------------------------------


@dataclass
class _Note:
    """What one DOT statement draws, written into the SVG by :func:`_annotate` (see the module docstring).

    ``texts`` are the classes of the label's lines, in the order Graphviz writes them.
    """

    classes: list[str]
    data: dict[str, str] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)


class _Diagram(graphviz.Digraph):
    """A ``graphviz.Digraph`` that knows what each of its statements draws, by the statement's ``id``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: dict[str, _Note] = {}


@dataclass
class _Label:
    """An HTML-like label, and the class of each line of text in it, in the order Graphviz writes them."""

    html: str
    texts: list[str]


def _table(rows: list[tuple[str, str]]) -> _Label:
    """A label of one centred row per (class, escaped text) entry."""
    body = "".join(f"<tr><td>{row}</td></tr>" for _, row in rows)
    html_text = f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">{body}</table>>'
    return _Label(html_text, [role for role, _ in rows])


class _Style:
    """What to write on the diagram, and the formatted values, each computed once."""

    __slots__ = (
        "values",
        "grads",
        "explain",
        "local_gradients",
        "precision",
        "max_elements",
        "rankdir",
        "theme",
        "focus",
        "_cache",
        "_faded",
    )

    def __init__(self, values, grads, explain, local_gradients, precision, max_elements, rankdir, theme) -> None:
        self.values, self.grads, self.explain = bool(values), bool(grads), bool(explain)
        self.local_gradients, self.precision, self.max_elements = bool(local_gradients), precision, max_elements
        self.rankdir, self.theme = rankdir, theme
        self.focus: Focus | None = None
        self._cache: dict[int, tuple[Any, list[str]]] = {}
        self._faded: _Style | None = None

    def on_path(self, *names: str) -> bool | None:
        """Whether any of ``names`` lies on a focused path; None when nothing is focused."""
        return None if self.focus is None else any(name in self.focus.nodes for name in names)

    def shade(self, on: bool | None) -> _Style:
        """This style, or for what is off the focused paths (``on`` False) the same in faded colours."""
        if on is not False:
            return self
        if self._faded is None:
            self._faded = _Style(
                self.values, self.grads, self.explain, self.local_gradients, self.precision, self.max_elements,
                self.rankdir, _faded(self.theme),
            )  # fmt: skip
        return self._faded

    @property
    def across(self) -> bool:
        """Edges run across the page: value above, gradient below."""
        return self.rankdir in ("LR", "RL")

    def lines(self, value) -> list[str]:
        """``value_lines`` of ``value``, computed once per object (a summary costs a pass over it)."""
        key = id(value)
        if key not in self._cache:
            # keeping the value alive keeps its id from being reused by a later temporary
            self._cache[key] = (value, value_lines(value, self.precision, self.max_elements))
        return self._cache[key][1]

    def text(self, value) -> str:
        return " ".join(self.lines(value))


class _Edge:
    """One drawn edge: a source node into a node or a collapsed box."""

    __slots__ = ("source", "tail", "head", "uses")

    def __init__(self, source: Node, tail: str, head: str):
        self.source, self.tail, self.head = source, tail, head
        self.uses: list[tuple[Node, int]] = []  # (gate node, argument position) this edge feeds


def _draw(last: LastPass, style: _Style, collapse, compact: bool, rows: int | None) -> _Diagram:
    """The diagram of the last pass, every statement noted for the SVG."""
    nodes = list(last.graph)
    boxes = _collapsed_scopes(nodes, collapse)
    box_of = {node.name: _box_of(node.scope, boxes) for node in nodes}
    ids = {name: f"c{boxes.index(box)}" if box else f"n{index}" for index, (name, box) in enumerate(box_of.items())}

    def placed_in(node: Node) -> str | None:
        """The scope whose cluster holds what draws ``node``: its own, or its box's parent."""
        box = box_of[node.name]
        return _parent_scope(box) if box else node.scope

    def end(node: Node, side: str) -> dict[str, str]:
        """``data-source="x"``, or ``data-source-scope="net"`` where the node is inside a collapsed box."""
        box = box_of[node.name]
        return {f"{side}-scope": box} if box else {side: node.name}

    dot = _Diagram(name="gategraph")
    # ordering=in keeps a gate's arguments in order, top to bottom: x above y in x - y.
    spacing = _COMPACT if compact else _SPACING
    theme = style.theme
    dot.attr(rankdir=style.rankdir, fontname="Helvetica", newrank="true", ordering="in", **spacing)
    if theme.background != "white":
        dot.attr(bgcolor=theme.background, fontcolor=theme.ink)
    dot.attr("node", fontname="Helvetica", fontsize="11", style="filled", penwidth="1.2")
    if theme.ink != "black":
        dot.attr("node", color=theme.ink, fontcolor=theme.ink)
    if compact:
        dot.attr("node", margin="0.04,0.02")
    dot.attr("edge", fontname="Helvetica", fontsize="10", arrowsize="0.7", color=theme.edge)

    tree = _ScopeTree()
    for node in nodes:
        if not box_of[node.name]:
            on = style.on_path(node.name)
            attributes, note = _node_attributes(last, node, style.shade(on))
            _emphasise(attributes, note.classes, style.shade(on).theme, on)
            tree.add(node.scope, ids[node.name], attributes)
            dot.notes[ids[node.name]] = note
    for box in boxes:
        members = [node for node in nodes if box_of[node.name] == box]
        on = style.on_path(*(node.name for node in members))
        attributes, note = _box_attributes(last, box, members, style.shade(on).theme)
        _emphasise(attributes, note.classes, style.shade(on).theme, on)
        tree.add(_parent_scope(box), ids[members[0].name], attributes)
        dot.notes[ids[members[0].name]] = note

    drawn = []  # (tail, head, label, tooltip, scope of the label, data attributes, on a focused path)
    for edge in _edges(nodes, ids):
        target = edge.uses[0][0]
        scope = _common_scope(placed_in(edge.source), placed_in(target))
        ends = {**end(edge.source, "source"), **end(target, "target")}
        on = None if style.focus is None else any((edge.source.name, t.name) in style.focus.edges for t, _ in edge.uses)
        label = _edge_text(last, edge, style.shade(on))
        drawn.append((edge.tail, edge.head, label, _edge_tooltip(edge), scope, ends, on))
    for index, node in enumerate(last.graph.outputs):
        sink = f"out{index}"
        tree.add(None, sink, {"label": "", "shape": "point", "width": "0.01", "style": "invis"})
        on = None if style.focus is None else node.name in style.focus.outputs
        label = _edge_label(last.value(node), last.grad(node), [], style.shade(on))
        drawn.append((ids[node.name], sink, label, f"{node.name}: output", placed_in(node), end(node, "source"), on))

    statements = []
    into, out_of = _PORTS[style.rankdir]
    for index, (tail, head, label, tooltip, scope, ends, on) in enumerate(drawn):
        classes = ["gg-edge"] if "target" in ends or "target-scope" in ends else ["gg-edge", "gg-output"]
        line = {"tooltip": _plain(tooltip)}
        _emphasise(line, classes, style.shade(on).theme, on, edge=True)
        if label is None:
            statements.append((f"d{index}", tail, head, line))
            dot.notes[f"d{index}"] = _Note(classes, ends)
            continue
        # The label is a node on the edge, crossed by a rule that continues the edge: the
        # value sits on one side of the line and the gradient on the other, as in the lecture.
        middle = f"e{index}"
        tree.add(scope, middle, {"label": label.html, "shape": "plaintext", "style": "solid", "margin": "0", **_TIGHT})
        dot.notes[middle] = _Note([*classes, "gg-edge-label"], ends, label.texts)
        statements.append((f"{middle}i", tail, f"{middle}:{into}", {"arrowhead": "none", **line}))
        statements.append((f"{middle}o", f"{middle}:{out_of}", head, line))
        dot.notes[f"{middle}i"] = dot.notes[f"{middle}o"] = _Note(classes, ends)
    row_of = _rows(nodes, ids, box_of, tree, statements, rows, style.across, spacing)
    _continue_rows(dot, tree, statements, row_of, style)
    tree.emit(dot, theme, row_of)
    _anchor_rows(dot, statements, row_of)
    for statement, tail, head, attributes in statements:
        dot.edge(tail, head, id=statement, **attributes)
    return dot


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


def _node_attributes(last: LastPass, node: Node, style: _Style) -> tuple[dict[str, str], _Note]:
    name = _html(node.name)
    theme = style.theme
    rows = []
    gate = node.gate
    if gate is not None:
        rows.append(("gg-symbol", f'<font point-size="16"><b>{_html(str(gate.symbol))}</b></font>'))
        rows.append(("gg-name", f'<font point-size="9" color="{theme.note}">{name}</font>'))
        if style.local_gradients:
            for formula in node_formulas(last, node, style.precision):
                rows.append(
                    (
                        "gg-local",
                        f'<font point-size="8" color="{theme.note}">{_tag(_html(formula), theme.local_tag)}</font>',
                    )
                )
    elif node.kind == "constant":
        rows.append(("gg-value", f"<b>{_html(style.text(last.held(node)))}</b>"))
        rows.append(("gg-name", f'<font point-size="8" color="{theme.note}">{name}</font>'))
    else:
        rows.append(("gg-name", f"<b>{name}</b>"))
        if node.kind == "input" and not node.requires_grad:
            rows.append(("gg-note", f'<font point-size="8" color="{theme.note}">data</font>'))
    received = last.received(node) if style.explain and style.grads else []
    if len(received) > 1:  # fan-out: the gradients of the branches add up
        line = fan_out_sum([part.sent for part in received], last.grad(node), style.text)
        rows.append(
            ("gg-sum", f'<font point-size="9" color="{theme.grad_color}">{_tag(_html(line), theme.grad_tag)}</font>')
        )
    label = _table(rows)
    attributes = {
        "label": label.html,
        "shape": _SHAPES[node.kind],
        "fillcolor": getattr(theme, node.kind),
        "tooltip": _plain(_node_tooltip(last, node, style)),
    }
    return attributes, _Note(["gg-node"], {"node": node.name, "kind": node.kind}, label.texts)


def _node_tooltip(last: LastPass, node: Node, style: _Style) -> str:
    return node_tooltip(last, node, style.text, style.precision)


def _box_attributes(last: LastPass, scope: str, members: list[Node], theme: Theme) -> tuple[dict[str, str], _Note]:
    """A collapsed scope's box: its name, then its gates by kind and its parameters by shape, no line wider than
    ``LINE_WIDTH`` characters whatever the scope holds."""
    kinds = [str(node.gate.symbol) for node in members if node.gate is not None]
    parameters = [(node.name, np.shape(last.held(node))) for node in members if node.kind == "parameter"]
    rows = [("gg-name", f"<b>{_html(wrapped([scope])[0])}</b>")]
    for line in contents_lines(kinds, parameters):
        rows.append(("gg-note", f'<font point-size="9" color="{theme.note}">{_html(line)}</font>'))
    contents = [f"{node.name}: {node.kind if node.gate is None else type(node.gate).__name__}" for node in members]
    tooltip = "\n".join([f"{scope}: {len(members)} nodes", *contents])
    label = _table(rows)
    attributes = {"label": label.html, "shape": _SCOPE_SHAPE, "fillcolor": theme.box, "tooltip": _plain(tooltip)}
    return attributes, _Note(["gg-box"], {"scope": scope}, label.texts)


def _edge_text(last: LastPass, edge: _Edge, style: _Style) -> _Label | None:
    """The label of one drawn edge: its value, the gradient sent back along it, the chain rule.

    An edge from a constant has none: the constant's node shows its value, and no gradient flows back.
    """
    if edge.source.kind == "constant":
        return None
    sent = (last.sent(target, position) for target, position in edge.uses)
    contributions = [grad for grad in sent if grad is not None]
    grad = None
    if contributions:
        grad = contributions[0]
        for part in contributions[1:]:
            grad = grad + part
    chain = []
    if style.explain and style.grads and len({target.name for target, _ in edge.uses}) == 1:
        for target, position in edge.uses:
            sent = last.sent(target, position)
            if sent is not None and target.gate is not None:
                inputs = [source.name for source in target.inputs]
                formula = local_formula(target.gate, position, len(inputs), target.name, inputs)
                local = last.local(target, position)
                chain.append(chain_rule(last.grad(target), sent, formula, style.precision, local, note=False))
    flowed = (last.flowed(target, position) for target, position in edge.uses)
    return _edge_label(next((value for value in flowed if value is not None), None), grad, chain, style)


def _edge_tooltip(edge: _Edge) -> str:
    """``z → f (∂f/∂z = q)``: where the value goes, and the local gradient there in the graph's names."""
    uses = ", ".join(f"{target.name} ({_use(target, position)})" for target, position in edge.uses)
    return f"{edge.source.name} → {uses}"


def _use(target: Node, position: int) -> str:
    inputs = [source.name for source in target.inputs]
    formula = "" if target.gate is None else local_formula(target.gate, position, len(inputs), target.name, inputs)
    return formula or f"input {position + 1}"


def _edge_label(value, grad, chain: list[str], style: _Style) -> _Label | None:
    """The value on one side of a rule, the gradient and chain rule on the other; None where there is neither.

    Across the page (LR) the rule is horizontal, value above and gradient
    below, the two halves of equal height so that the rule sits where the edge
    enters; down the page (TB) it is vertical, value left and gradient right.
    """
    first = style.lines(value) if style.values and value is not None else []
    second = style.lines(grad) if style.grads and grad is not None else []
    if not first and not second and not chain:
        return None
    texts = ["gg-value"] * len(first) + ["gg-grad"] * len(second) + ["gg-chain"] * len(chain)
    theme = style.theme
    above = "<br/>".join(_coloured(first, theme.value_color, theme.value_tag))
    below = "<br/>".join(
        _coloured(second, theme.grad_color, theme.grad_tag)
        + [f'<font point-size="8" color="{theme.explain}">{_html(line)}</font>' for line in chain]
    )
    table = f'<table border="0" cellborder="0" cellspacing="0" cellpadding="2" color="{theme.edge}">'
    if style.across:
        height = 14 * max(len(first), len(second) + len(chain), 1)
        return _Label(
            f'<{table}<tr><td height="{height}" width="28" valign="bottom">{above}</td></tr><hr/>'
            f'<tr><td height="{height}" width="28" valign="top">{below}</td></tr></table>>',
            texts,
        )
    # Equal widths (estimated from the text, about 6 points a character) centre the rule on the edge.
    width = max(14, 6 * max(len(text) for text in first + second + chain))
    return _Label(
        f'<{table}<tr><td align="right" width="{width}">{above}</td><vr/>'
        f'<td align="left" width="{width}">{below}</td></tr></table>>',
        texts,
    )


def _coloured(lines: list[str], color: str, tag: str = "") -> list[str]:
    return [f'<font color="{color}">{_tag(_html(line), tag)}</font>' for line in lines]


def _tag(text: str, tag: str) -> str:
    """``text`` inside ``<tag>`` (``<i>``, ``<b>``), or as it is for no tag."""
    return f"<{tag}>{text}</{tag}>" if tag else text


def _add_legend(dot: _Diagram, style: _Style, changed: list[str], beside: str | None) -> None:
    """A key to the diagram's writing, beside the end of the first output's arrow: where the pass ends.

    ``changed``: the lines saying which parameters changed since the pass (their values are drawn as they are now).
    """
    theme = style.theme
    rows = []
    if style.values:
        rows.append(
            ("gg-legend-value", f'<font color="{theme.value_color}">{_tag("value (forward)", theme.value_tag)}</font>')
        )
    if style.grads:
        rows.append(
            ("gg-legend-grad", f'<font color="{theme.grad_color}">{_tag("gradient (backward)", theme.grad_tag)}</font>')
        )
    if style.local_gradients:
        local = _tag("local gradient", theme.local_tag)
        rows.append(("gg-legend-local", f'<font point-size="8" color="{theme.note}">{local}</font>'))
    if style.focus is not None:
        paths = f"thick: the paths from {style.focus.node} to {', '.join(style.focus.outputs)}"
        rows.append(("gg-legend-focus", f'<font point-size="9" color="{theme.ink}"><b>{_html(paths)}</b></font>'))
    for line in changed:
        rows.append(("gg-legend-changed", f'<font point-size="9" color="{theme.note}">{_html(line)}</font>'))
    if not rows:
        return
    label = _table(rows)
    with dot.subgraph(name="legend") as last:
        last.attr(rank="same")
        last.node("legend", id="legend", label=label.html, shape="box", style="rounded", color=theme.cluster)
        if beside:
            last.node(beside)
    dot.notes["legend"] = _Note(["gg-legend"], {}, label.texts)


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

    def __init__(self) -> None:
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

    def labels(self) -> dict[str, str]:
        """Every node statement's label, by id, at any depth."""
        found = {name: attributes["label"] for kind, name, attributes in self.items if kind == "node"}
        for child in self.children.values():
            found.update(child.labels())
        return found

    def emit(self, dot: graphviz.Digraph, theme: Theme, row_of: dict[str, int] | None = None, path: str = "") -> None:
        """The clusters and nodes, each top-level item inside its row's invisible cluster where ``row_of`` says."""
        if row_of:
            for row in sorted(set(row_of.values())):
                with dot.subgraph(name=f"cluster__row{row}") as cluster:  # "__" is in no _cluster_id
                    cluster.attr(style="invis", label="")
                    items = [item for item in self.items if row_of[self._first(item)] == row]
                    self.emit_items(cluster, theme, items, path)
        else:
            self.emit_items(dot, theme, self.items, path)

    def _first(self, item: tuple[str, str, dict]) -> str:
        """A node statement's id, or the id of the first node inside a scope."""
        kind, name, _ = item
        return name if kind == "node" else next(iter(self.children[name].labels()))

    def emit_items(self, dot: graphviz.Digraph, theme: Theme, items: list[tuple[str, str, dict]], path: str) -> None:
        for kind, name, attributes in items:
            if kind == "node":
                dot.node(name, id=name, **attributes)
                continue
            full = f"{path}/{name}" if path else name
            with dot.subgraph(name=f"cluster_{_cluster_id(full)}") as cluster:
                cluster.attr(
                    label=_table([("gg-name", f"<b>{_html(name)}</b>")]).html,
                    style="rounded,dashed",
                    color=theme.cluster,
                    fontname="Helvetica",
                    fontsize="11",
                    tooltip=_plain(full),
                )
                self.children[name].emit(cluster, theme, None, full)


def _cluster_id(scope: str) -> str:
    """A DOT identifier for a scope path: letters and digits kept, anything else as its code point."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"_{ord(ch):x}_" for ch in scope)


# -- rows: the layers of a network read like lines of text ----------------------------------------

# The box a drawing is fitted into when choosing its rows: a 16:9 slide, in points.
_SLIDE = (1280.0, 720.0)
# Room a row takes beyond its nodes: its clusters' margins and labels, in points.
_ROW_MARGIN = 36.0


def _rows(
    nodes: list[Node],
    ids: dict[str, str],
    box_of: dict[str, str | None],
    tree: _ScopeTree,
    statements: list[tuple[str, str, str, dict]],
    rows: int | None,
    across: bool,
    spacing: dict[str, str],
) -> dict[str, int]:
    """The row of each node statement, by id; empty where the drawing is one row.

    The top-level scopes, in the order their first node was created, are
    cut into consecutive runs, one run a row: ``rows`` of them, or as many as
    fit the drawing largest into a slide. A gate in no scope goes with the
    last scope created before it, an input with the first scope that uses it,
    an edge's label with the edge's head and an output's arrow with the output.
    """
    scopes: list[str] = []  # the top-level scopes, in order
    group: dict[str, int] = {}  # node statement -> its top-level scope's index
    for node in nodes:
        node_id, scope = ids[node.name], (box_of[node.name] or node.scope or "").split("/")[0]
        if scope:
            if scope not in scopes:
                scopes.append(scope)
            group[node_id] = scopes.index(scope)
        elif node.gate is not None and scopes:
            group[node_id] = len(scopes) - 1
    if len(scopes) < 2 or rows == 1 or (rows is None and not across):
        return {}
    edges: list[tuple[str, str, str | None]] = []  # (tail, head, label node) of each drawn edge
    halves: dict[str, list[str]] = {}  # label node -> [tail, head]
    for statement, tail, head, _ in statements:
        tail, head = tail.partition(":")[0], head.partition(":")[0]
        if statement.endswith("i"):  # tail -> label, then (statement "...o") label -> head
            halves[head] = [tail, ""]
        elif statement.endswith("o"):
            halves[tail][1] = head
        else:
            edges.append((tail, head, None))
    edges += [(tail, head, label) for label, (tail, head) in halves.items()]
    uses: dict[str, list[int]] = {}
    for tail, head, _ in edges:
        if tail not in group and head in group:
            uses.setdefault(tail, []).append(group[head])
    group.update((tail, min(found)) for tail, found in uses.items())
    for tail, head, label in edges:
        if head not in group:  # an output's arrow to nowhere
            group[head] = group.get(tail, 0)
        if label:
            group[label] = group[head]
    labels = tree.labels()
    group.update((node_id, 0) for node_id in labels if node_id not in group)
    links = [(tail, label or head) for tail, head, label in edges] + [
        (label, head) for _, head, label in edges if label
    ]
    members: list[list[str]] = [[] for _ in scopes]
    for node_id, index in group.items():
        members[index].append(node_id)
    heights = [_extent(part, labels, links, spacing).height for part in members]

    @functools.cache
    def size(start: int, end: int) -> _Extent:
        """A row of scopes ``start`` to ``end``: as long as its longest chain; its clusters' rank ranges overlap,
        so Graphviz stacks them, while boxes sit side by side."""
        width = _extent([node_id for part in members[start:end] for node_id in part], labels, links, spacing).width
        stacked = sum(heights[index] for index in range(start, end) if scopes[index] in tree.children)
        return _Extent(width, max(stacked, *heights[start:end]))

    cuts = _cuts(len(scopes), size, rows)
    row_of_scope = [sum(1 for cut in cuts if cut <= index) for index in range(len(scopes))]
    return {node_id: row_of_scope[index] for node_id, index in group.items()} if cuts else {}


class _Extent(NamedTuple):
    """How wide and high a part of the drawing will be, estimated from its text, in points."""

    width: float
    height: float


def _extent(node_ids: list[str], labels: dict[str, str], links: list[tuple[str, str]], spacing) -> _Extent:
    """The longest chain of labels along the ranks, and the tallest stack of them across, of ``node_ids``."""
    inside = set(node_ids)
    ranksep, nodesep = float(spacing["ranksep"]) * 72, float(spacing["nodesep"]) * 72
    before: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    for tail, head in links:
        if tail in inside and head in inside:
            before[head].append(tail)
    reach: dict[str, float] = {}  # from the left edge to a node's right side
    rank: dict[str, int] = {}
    for node_id in _in_order(before):
        width, _ = _text_size(labels[node_id])
        reach[node_id] = width + max((reach[tail] + ranksep for tail in before[node_id]), default=0.0)
        rank[node_id] = max((rank[tail] + 1 for tail in before[node_id]), default=0)
    stacks: dict[int, float] = {}
    for node_id, index in rank.items():
        stacks[index] = stacks.get(index, -nodesep) + _text_size(labels[node_id])[1] + nodesep
    return _Extent(max(reach.values(), default=0.0), max(stacks.values(), default=0.0))


def _in_order(before: dict[str, list[str]]) -> list[str]:
    """The node ids with each after those before it (the drawing is acyclic)."""
    done: dict[str, None] = {}

    def visit(node_id: str) -> None:
        stack = [(node_id, iter(before[node_id]))]
        while stack:
            current, pending = stack[-1]
            tail = next((item for item in pending if item not in done), None)
            if tail is None:
                done[current] = None
                stack.pop()
            else:
                stack.append((tail, iter(before[tail])))

    for node_id in before:
        if node_id not in done:
            visit(node_id)
    return list(done)


def _text_size(label: str) -> _Extent:
    """A label's size from its lines of text: about 6 points a character and 13 a line, plus a node's margin."""
    text = re.sub(r"<br/>|</tr>", "\n", label)
    lines = [html.unescape(line) for line in re.sub(r"<[^>]*>", "", text).splitlines() if line.strip()]
    return _Extent(6.0 * max(map(len, lines), default=0) + 16, 13.0 * len(lines) + 10)


def _cuts(count: int, size: Callable[[int, int], _Extent], rows: int | None) -> list[int]:
    """Where rows start, as indexes of the scopes that start them: ``rows`` rows, or the count that fits best.

    Each count of rows cuts the ``count`` scopes where the widest row is
    narrowest. The count kept is the fewest that fit a slide with the text
    at its size or larger, or where none does, the one that draws it
    largest. ``size(start, end)`` is the size of a row of scopes ``start`` to ``end``.
    """
    best: tuple[float, list[int]] = (0.0, [])
    for number in [min(rows, count)] if rows else range(1, count + 1):
        cuts = _narrowest(count, number, lambda start, end: size(start, end).width)
        spans = [size(start, end) for start, end in itertools.pairwise([0, *cuts, count])]
        width = max(span.width for span in spans)
        height = sum(span.height + _ROW_MARGIN for span in spans)
        scale = min(_SLIDE[0] / width, _SLIDE[1] / height)
        if scale > best[0]:
            best = (scale, cuts)
        if scale >= 1:
            break
    return best[1]


def _narrowest(count: int, number: int, width: Callable[[int, int], float]) -> list[int]:
    """The ``number - 1`` cuts of ``count`` scopes into consecutive rows that make the widest row narrowest."""
    # widest[end]: for the first `end` scopes in the rows so far, the narrowest widest row and its cuts
    widest: list[tuple[float, list[int]]] = [(width(0, end) if end else 0.0, []) for end in range(count + 1)]
    for _ in range(1, number):
        widest = [
            min(
                ((max(widest[cut][0], width(cut, end)), [*widest[cut][1], cut]) for cut in range(1, end)),
                default=widest[end],
            )
            for end in range(count + 1)
        ]
    return widest[count][1]


def _continue_rows(
    dot: _Diagram, tree: _ScopeTree, statements: list[tuple[str, str, str, dict]], row_of: dict[str, int], style: _Style
) -> None:
    """Break each edge from one row into a later one: it leaves its row for "→ next row" ("→ next column" down
    the page), and the row it enters starts with the node it comes from again, dashed, as the first row starts
    with the inputs.

    An edge drawn across the rows would wind between the layers' clusters.
    """
    if not row_of:
        return
    theme, onward_text = style.theme, "→ next row" if style.across else "→ next column"
    again: dict[tuple[str, int], str] = {}  # (node statement, row) -> its copy starting that row
    onward: dict[str, str] = {}  # node statement -> its "→ next row"
    for index, (statement, tail, head, attributes) in list(enumerate(statements)):
        row = row_of[head.partition(":")[0]]
        if row_of[tail.partition(":")[0]] == row:  # an edge between rows leaves a node, never a label's port
            continue
        name = next(iter(dot.notes[tail].data.values()))  # the node's name, or a box's scope
        if tail not in onward:
            onward[tail] = f"k{len(onward)}"
            label = _table([("gg-note", f'<font point-size="9" color="{theme.note}">{onward_text}</font>')])
            tree.add(None, onward[tail], {"label": label.html, "shape": "plaintext", "style": "solid", **_TIGHT})
            row_of[onward[tail]] = row_of[tail]
            dot.notes[onward[tail]] = _Note(["gg-continued"], {"continues": name}, label.texts)
            drawn_as = {key: value for key, value in attributes.items() if key != "arrowhead"}  # the edge's look
            statements.append((f"{onward[tail]}i", tail, onward[tail], drawn_as))
            dot.notes[f"{onward[tail]}i"] = dot.notes[statement]
        if (tail, row) not in again:
            again[tail, row] = f"g{len(again)}"
            label = _table([("gg-name", f"<b>{_html(name)}</b>")])
            copy = {
                "label": label.html,
                "shape": "box",
                "style": "rounded,dashed",
                "color": theme.cluster,
                "tooltip": _plain(f"{name}, drawn again where this row starts"),
            }
            tree.add(None, again[tail, row], copy)
            row_of[again[tail, row]] = row
            dot.notes[again[tail, row]] = _Note(["gg-continued"], {"continues": name}, label.texts)
        statements[index] = (statement, again[tail, row], head, attributes)


def _anchor_rows(dot: _Diagram, statements: list[tuple[str, str, str, dict]], row_of: dict[str, int]) -> None:
    """Hold the rows in order, top to bottom, each starting at the left.

    An invisible anchor per row, the anchors in one rank in order, each
    before its row's first nodes: Graphviz orders the rows' clusters by them
    (its own order of clusters follows no rule a caller can rely on).
    """
    if not row_of:
        return
    entered = {head.partition(":")[0] for _, _, head, _ in statements}
    count = max(row_of.values()) + 1
    with dot.subgraph(name="rows") as anchors:
        anchors.attr(rank="same")
        for row in range(count):
            anchors.node(f"row{row}", shape="point", style="invis", width="0", height="0", label="")
        for row in range(count - 1):
            anchors.edge(f"row{row}", f"row{row + 1}", style="invis")
    for node_id, row in row_of.items():
        if node_id not in entered:
            dot.edge(f"row{row}", node_id, style="invis")


# -- text ----------------------------------------------------------------------------------------


def _html(text: str) -> str:
    """Text safe inside an HTML-like label."""
    return html.escape(str(text), quote=True)


def _plain(text: str) -> str:
    r"""Text safe in a quoted DOT attribute: backslashes and quotes escaped, lines joined by ``\n``."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return graphviz.nohtml("\\n".join(escaped.splitlines()))


def _pipe(dot: graphviz.Digraph, fmt: str, engine: str) -> bytes:
    if shutil.which(engine) is None:
        raise GraphvizNotFoundError(_INSTALL_HINT.format(engine=engine))
    try:
        return dot.pipe(format=fmt, engine=engine)
    except graphviz.ExecutableNotFound as error:
        raise GraphvizNotFoundError(_INSTALL_HINT.format(engine=engine)) from error


# -- the SVG's classes and data attributes -----------------------------------------------------------

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"


def _svg(dot: graphviz.Digraph, engine: str) -> str:
    """The SVG that Graphviz draws, marked as the module docstring says."""
    svg = _pipe(dot, "svg", engine).decode("utf-8")
    return _annotate(svg, dot.notes) if isinstance(dot, _Diagram) else svg


def _annotate(svg: str, notes: dict[str, _Note]) -> str:
    """Write each statement's note into the group Graphviz drew for it (found by the statement's ``id``)."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    prolog, start, _ = svg.partition("<svg")
    root = ET.fromstring(start + _)
    for group in root.iter(f"{{{_SVG_NS}}}g"):
        note = notes.get(group.get("id", ""))
        if note is None:
            continue
        group.set("class", " ".join([group.get("class", ""), *note.classes]).strip())
        for key, value in note.data.items():
            group.set(f"data-{key}", value)
        texts = list(group.iter(f"{{{_SVG_NS}}}text"))
        if len(texts) != len(note.texts):
            raise RuntimeError(
                f"Graphviz drew {len(texts)} lines of text for {group.get('id')!r} where the diagram wrote "
                f"{len(note.texts)}: this Graphviz lays out HTML-like labels differently from 2.43; please report it"
            )
        for text, role in zip(texts, note.texts):
            text.set("class", role)
    return prolog + ET.tostring(root, encoding="unicode")
