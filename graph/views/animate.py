"""Step-through backprop: the last forward and backward pass, animated in one HTML file.

The lecture walks through a circuit node by node: the forward values first,
then the gradients from the output back to every input, upstream times local
at each gate, summed where a node fans out. :func:`animate` writes that walk
for any graph as a single self-contained page (inline SVG, CSS and script; no
network) with play/pause, previous/next, a slider, keyboard arrows and a speed
control. The diagram is the one :mod:`graph.export` draws, laid out once by
Graphviz's ``dot``; the page only reveals and highlights parts of it. The
captions are :func:`graph.explain.explain`'s text, step by step.

Like export, this reads a graph and never runs it.

Command line: ``python -m graph.animate script.py`` runs the script and writes
one page per graph it leaves behind that has run forward and backward.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import runpy
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graph.errors import BackwardError
from graph.views.diagram import GRAD_COLOR, VALUE_COLOR, _pipe, format_value, to_dot
from graph.views.explain import _block, _d, _expression, _heading, _received, _reverse_order

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = ["Frame", "frames", "to_html", "animate", "main"]

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_BADGE_MARGIN = 24  # room above and below the drawing for the badge the page writes beside a node


@dataclass(frozen=True)
class Frame:
    """One step of the animation.

    Attributes
    ----------
    phase : {"forward", "backward"}
    node : str
        The node this step is about, highlighted in the diagram.
    headline : str
        The step in one sentence.
    caption : str
        The step in detail: for the backward pass, :func:`graph.explain.explain`'s
        block for the node; for the forward pass, its first line and the inputs.
    badge : str
        What the page writes on the node: its value (forward) or gradient (backward).
    sums : tuple of (str, str)
        Running sums at fan-out: for each input of this gate that feeds more than
        one gate, its name and the branches' gradients received so far.
    edges : tuple of (str, str)
        The edges lit in this step, as (source, target) node names: a gate's
        inputs, along which values arrive (forward) or gradients leave
        (backward); in the backward pass of a leaf, the edges its gradient came back along.
    """

    phase: str
    node: str
    headline: str
    caption: str
    badge: str
    sums: tuple[tuple[str, str], ...] = ()
    edges: tuple[tuple[str, str], ...] = ()


def frames(graph: ComputationalGraph, *, precision: int = 4, max_elements: int = 6) -> list[Frame]:
    """The steps of the last forward and backward pass, in the order the page plays them.

    First one step per node holding a value, in topological order (leaves
    first); then one step per node the backward pass reached, in the reverse
    topological order :func:`graph.explain.explain` uses, from the output
    back to the leaves.

    Parameters
    ----------
    graph : ComputationalGraph
        A graph after ``forward`` and ``backward``.
    precision : int, default 4
        Significant digits of numbers.
    max_elements : int, default 6
        Arrays with more elements are written as shape, dtype, mean and norm.

    Raises
    ------
    BackwardError
        No backward has run since the last forward.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, y, z = g.input("x"), g.input("y"), g.input("z")
    >>> f = (x + y) * z
    >>> _ = g.forward(x=-2.0, y=5.0, z=-4.0), g.backward()
    >>> [(frame.phase[0], frame.node, frame.badge) for frame in frames(g)][3:6]
    [('f', 'add_1', '= 3'), ('f', 'mul_1', '= -12'), ('b', 'mul_1', 'dL/d(mul_1) = 1')]
    >>> frames(g)[-2].caption
    'x   input   value -2\\n  dL/dx = -4'
    """
    backward_order = [node for node in _reverse_order(graph) if node.grad is not None]
    if not backward_order:
        raise BackwardError("animate() shows the last forward and backward pass: run forward() and backward() first")

    def text(value) -> str:
        return format_value(value, precision, max_elements)

    steps = [_forward_frame(node, text, precision) for node in graph.nodes if node.value is not None]
    received = _received(graph)
    arrived: dict[str, list] = {}  # gradients each fan-out node has received so far
    output = backward_order[0]
    for node in backward_order:
        steps.append(_backward_frame(node, node is output, received, arrived, text, precision))
    return steps


def _forward_frame(node: Node, text, precision: int) -> Frame:
    value = text(node.value)
    lines = [_heading(node, precision)]
    if node.kind == "gate":
        arguments = ", ".join(f"{source.name} = {text(source.value)}" for source in node.inputs)
        lines.append(f"  inputs    {arguments}")
        headline = f"{node.name} = {_substituted(node, text)} = {value}"
        edges = tuple((source.name, node.name) for source in node.inputs)
    else:
        headline = {
            "input": f"{node.name} is an input: the forward pass starts from its value {value}",
            "parameter": f"{node.name} is a parameter: it holds {value}",
            "constant": f"{node.name} is a constant: {value}",
        }[node.kind]
        if node.kind == "input" and not node.requires_grad:
            headline += " (data: it needs no gradient)"
        edges = ()
    return Frame("forward", node.name, headline + ".", "\n".join(lines), f"= {value}", edges=edges)


def _substituted(node: Node, text) -> str:
    """``-2 + 5`` for ``x + y``: the expression with the inputs' values in place of their names."""
    values = [text(source.value) for source in node.inputs]
    symbol = str(node.gate.symbol)
    if len(values) == 2 and symbol and not symbol[0].isalpha() and all(not np.shape(s.value) for s in node.inputs):
        second = f"({values[1]})" if values[1].startswith("-") else values[1]
        return f"{values[0]} {symbol} {second}"
    if all(not np.shape(source.value) for source in node.inputs):
        return f"{node.gate.short_name}({', '.join(values)})"
    return _expression(node)


def _backward_frame(node: Node, is_output: bool, received, arrived, text, precision: int) -> Frame:
    grad = text(node.grad)
    caption = _block(node, received.get(node.name, []), precision)
    badge = f"{_d(node.name)} = {grad}"
    start = f"The backward pass starts at the output {node.name}: {_d(node.name)} = {grad}. " if is_output else ""
    if node.kind != "gate":
        branches = received.get(node.name, [])
        edges = tuple(dict.fromkeys((node.name, target.name) for target, _, _ in branches))
        if len(branches) > 1:
            headline = f"{node.name} fed {len(branches)} gates; the gradients they sent back add up: {badge}."
        else:
            headline = f"{node.name} has its gradient: {badge}."
        return Frame("backward", node.name, start + headline, caption, badge, edges=edges)

    wanting = [
        (source, sent)
        for source, sent in zip(node.inputs, node.input_grads or ())
        if sent is not None and source.requires_grad
    ]
    names = list(dict.fromkeys(source.name for source, _ in wanting))
    targets = " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]
    if names:
        headline = (
            f"{node.name} multiplies its upstream gradient {badge} by its local gradient "
            f"and sends the product to {targets}."
        )
    else:
        headline = f"{node.name} receives {badge}; none of its inputs needs a gradient."

    sums = []
    for source, sent in wanting:
        arrived.setdefault(source.name, []).append(sent)
    for name in names:
        total = len(received.get(name, []))
        if total > 1:
            parts = arrived[name]
            sums.append((name, _running_sum(name, parts, total, text)))
    if sums:
        caption += "\n" + "\n".join(f"  {'sum at ' + name:<10}{line}" for name, line in sums)
    edges = tuple(dict.fromkeys((source.name, node.name) for source, _ in wanting))
    return Frame("backward", node.name, start + headline, caption, badge, tuple(sums), edges)


def _running_sum(name: str, parts: list, total: int, text) -> str:
    """``Σ -4 + 2 = -2 so far (2 of 3 branches)``: what a fan-out node has received until now."""
    subtotal = parts[0]
    for part in parts[1:]:
        subtotal = subtotal + part
    done = "all" if len(parts) == total else "so far"
    if all(not np.shape(part) for part in parts):
        return f"Σ {' + '.join(text(part) for part in parts)} = {text(subtotal)} ({done}: {len(parts)} of {total})"
    return f"Σ {text(subtotal)} ({done}: {len(parts)} of {total} branches)"


# -- the page -------------------------------------------------------------------------------


def to_html(
    graph: ComputationalGraph,
    *,
    title: str | None = None,
    precision: int = 4,
    max_elements: int = 6,
    local_gradients: bool = False,
    rankdir: str = "LR",
    interval: float = 1.2,
) -> str:
    """The animation as one self-contained HTML page (inline SVG, CSS and script).

    Parameters are those of :func:`animate`.

    Raises
    ------
    BackwardError
        No backward has run since the last forward.
    GraphvizNotFoundError
        Graphviz's ``dot`` program, which lays the diagram out, is not installed.
    """
    steps = frames(graph, precision=precision, max_elements=max_elements)
    dot = to_dot(
        graph, precision=precision, max_elements=max_elements, local_gradients=local_gradients, rankdir=rankdir
    )
    # Tighter than a printed diagram, so that a lecture circuit fits a screen's width at a readable size.
    dot.attr(ranksep="0.25", nodesep="0.2")
    dot.node_attr["margin"] = "0.04,0.02"
    svg = _pipe(dot, "svg", "dot").decode("utf-8")
    svg, dot_ids, edge_index = _prepare_svg(svg, graph, steps)
    data = [
        {
            "p": frame.phase[0],
            "n": dot_ids[frame.node],
            "h": frame.headline,
            "c": frame.caption,
            "b": frame.badge,
            "s": [[dot_ids[name], line] for name, line in frame.sums],
            "e": [edge_index[edge] for edge in frame.edges if edge in edge_index],
        }
        for frame in steps
    ]
    gates = sum(node.kind == "gate" for node in graph.nodes)
    title = title or "Backpropagation, step by step"
    summary = (
        f"{len(graph.nodes)} nodes, {gates} gates · {sum(f.phase == 'forward' for f in steps)} forward steps, "
        f"{sum(f.phase == 'backward' for f in steps)} backward steps"
    )
    replacements = {
        "__TITLE__": html.escape(title),
        "__SUMMARY__": html.escape(summary),
        "__LAST__": str(len(steps) - 1),
        "__INTERVAL__": str(int(interval * 1000)),
        "__SVG__": svg,
        "__FRAMES__": _script_json(data),
        "__VALUE__": VALUE_COLOR,
        "__GRAD__": GRAD_COLOR,
    }
    # One pass over the template: a value (a name in the SVG or the frames, say "__TITLE__") is never rescanned.
    return re.sub(r"__[A-Z]+__", lambda match: replacements[match.group(0)], _PAGE)


def animate(
    graph: ComputationalGraph,
    path,
    *,
    title: str | None = None,
    precision: int = 4,
    max_elements: int = 6,
    local_gradients: bool = False,
    rankdir: str = "LR",
    interval: float = 1.2,
) -> Path:
    """Write the last forward and backward pass of ``graph`` as a step-through animation.

    One HTML file that needs no network: open it in a browser, step with the
    arrow keys or the buttons, drag the slider, or press play. Each step
    highlights one node: in the forward pass the value it produced, in the
    backward pass its upstream gradient, the local gradient and what it sends
    to each input, with the running sum where an input fans out. The caption
    is :func:`graph.explain.explain`'s text for that node.

    Parameters
    ----------
    graph : ComputationalGraph
        A graph after ``forward`` and ``backward``.
    path : str or os.PathLike
        The ``.html`` file to write.
    title : str, optional
        The page's heading.
    precision : int, default 4
        Significant digits of numbers.
    max_elements : int, default 6
        Arrays with more elements are shown as shape, dtype, mean and norm.
    local_gradients : bool, default False
        Also write each gate's local-gradient formula under its name in the
        diagram (the caption always gives it), as :func:`graph.export.to_dot` does.
    rankdir : {"LR", "TB", "RL", "BT"}, default "LR"
        Direction of the forward pass in the diagram.
    interval : float, default 1.2
        Seconds per step when playing at 1× speed.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    BackwardError
        No backward has run since the last forward.
    GraphvizNotFoundError
        Graphviz's ``dot`` program is not installed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> f = g.input("x") * 3.0
    >>> _ = g.forward(x=2.0), g.backward()
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     page = animate(g, pathlib.Path(folder) / "f.html").read_text()
    >>> page.startswith("<!DOCTYPE html>") and "<svg" in page and "http" not in page.split("<svg")[0]
    True
    """
    page = to_html(
        graph,
        title=title,
        precision=precision,
        max_elements=max_elements,
        local_gradients=local_gradients,
        rankdir=rankdir,
        interval=interval,
    )
    path = Path(os.fspath(path))
    path.write_text(page, encoding="utf-8")
    return path


def _prepare_svg(svg: str, graph: ComputationalGraph, steps: list[Frame]):
    """The diagram made ready for the page.

    Gives nodes and edges ids the script finds, marks each edge label's value
    and gradient text with the step that reveals it, and each node and edge
    with the step its value appears in. Returns the SVG text, the element id
    of each node by name, and an index of the drawn edges by (source, target).
    """
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    root = ET.fromstring(svg)
    # export names its node statements n0, n1... in the order graph iterates them
    dot_names = {f"n{index}": node.name for index, node in enumerate(graph)}
    forward_step = {frame.node: index for index, frame in enumerate(steps) if frame.phase == "forward"}
    backward_step = {frame.node: index for index, frame in enumerate(steps) if frame.phase == "backward"}
    last_forward = max(forward_step.values())
    first_backward = min(backward_step.values())

    groups: dict[str, ET.Element] = {}
    edges: list[tuple[str, str, ET.Element]] = []
    for group in root.iter(f"{{{_SVG_NS}}}g"):
        title = group.find(f"{{{_SVG_NS}}}title")
        kind = group.get("class")
        if title is None or kind not in ("node", "edge"):
            continue
        if kind == "node":
            groups[title.text] = group
            group.set("id", f"gg-{title.text}")
        else:
            tail, _, head = title.text.partition("->")
            edges.append((tail.split(":")[0], head.split(":")[0], group))
        group.remove(title)  # hover shows the richer tooltip of the <a> inside

    # An edge from a node into a gate is drawn as tail -> label -> head; the label holds the
    # value (above its rule) and the gradient (below). Edges to an output's sink have no gate.
    into: dict[str, tuple[str, ET.Element]] = {}
    out_of: dict[str, tuple[str, ET.Element]] = {}
    direct = []
    for tail, head, group in edges:
        if head.startswith("e") and head in groups and tail in dot_names:
            into[head] = (tail, group)
        elif tail.startswith("e") and tail in groups:
            out_of[tail] = (head, group)
        else:
            direct.append((tail, head, [group]))
    drawn = [(into[label][0], out_of[label][0], [into[label][1], groups[label], out_of[label][1]]) for label in into]
    drawn += direct

    edge_index: dict[tuple[str, str | None], int] = {}
    for tail, head, elements in drawn:
        source = dot_names.get(tail)
        if source is None:
            continue
        target = dot_names.get(head)  # None for an output's sink
        shown = forward_step.get(source, last_forward)
        edge_index[source, target] = len(edge_index)
        for element in elements:
            element.set("data-edge", str(edge_index[source, target]))
            element.set("data-f", str(shown))
        if target is not None:
            sent = backward_step.get(target)
        else:
            sent = first_backward if source == steps[first_backward].node else None
        for element in elements:
            for text in element.iter(f"{{{_SVG_NS}}}text"):
                fill = (text.get("fill") or "").lower()
                if fill == VALUE_COLOR:
                    text.set("class", "value")
                    text.set("data-f", str(shown))
                elif fill == GRAD_COLOR:
                    text.set("class", "grad")
                    text.set("data-f", str(sent if sent is not None else len(steps)))

    for dot_name, name in dot_names.items():
        group = groups.get(dot_name)
        if group is None:
            continue
        group.set("data-f", str(forward_step.get(name, len(steps))))
        if name in backward_step:
            group.set("data-b", str(backward_step[name]))

    _slim(root)
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    root.set("viewBox", f"0 {-_BADGE_MARGIN} {width:.2f} {height + 2 * _BADGE_MARGIN:.2f}")
    root.set("data-margin", str(_BADGE_MARGIN))
    root.set("data-width", f"{width * 4 / 3:.0f}")  # points to CSS pixels
    for attribute in ("width", "height"):
        root.attrib.pop(attribute, None)
    text = ET.tostring(root, encoding="unicode")
    return text, {name: f"gg-{dot}" for dot, name in dot_names.items()}, edge_index


def _slim(root: ET.Element) -> None:
    """Drop what the page does not need: the font on every text (the page's CSS sets it),
    the ids of tooltip wrappers and the whitespace between elements (a tenth of a large diagram)."""
    for element in root.iter():
        element.tail = None
        if element.tag == f"{{{_SVG_NS}}}text":
            element.attrib.pop("font-family", None)
        elif element.get("id", "").startswith("a_"):
            del element.attrib["id"]


# Characters a JSON text must not hold literally inside an HTML <script> element. "<" can open
# "</script", "<!--" or "<script", which move the HTML tokenizer into its script-data escaped and
# double-escaped states, where the element no longer ends where it should and the page's own script
# is swallowed; ">" and "&" for good measure in every other state; U+2028 and U+2029 end a line in
# JavaScript before ES2019. JSON.parse reads the \u escapes back as the same characters.
_SCRIPT_UNSAFE = {ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"}


def _script_json(data) -> str:
    r"""JSON that reads back the same and cannot end, or change the parsing of, the <script> holding it.

    >>> print(_script_json({"name": "<!--<script></script>&"}))
    {"name":"\u003c!--\u003cscript\u003e\u003c/script\u003e\u0026"}
    """
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_UNSAFE)


# -- command line -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m graph.animate script.py``: animate the graphs a script leaves behind.

    Runs the script as ``__main__`` and writes one page for each
    ComputationalGraph among its global variables that has run forward and
    backward: ``<script>.html``, or ``<script>_<variable>.html`` where there
    are several.
    """
    from graph.graph import ComputationalGraph

    parser = argparse.ArgumentParser(
        prog="python -m graph.animate",
        description="Run a script, then write a step-through backprop animation (HTML) of each graph it built.",
    )
    parser.add_argument("script", help="a Python script that builds a graph and runs forward() and backward()")
    parser.add_argument("-o", "--out", default=".", help="folder to write the pages to (default: current folder)")
    parser.add_argument("--precision", type=int, default=4, help="significant digits (default: 4)")
    arguments = parser.parse_args(argv)

    script = Path(arguments.script)
    saved, sys.argv = sys.argv, [str(script)]  # the script sees itself as the program, as under `python script.py`
    try:
        names = runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.argv = saved
    found = {
        name: value
        for name, value in names.items()
        if isinstance(value, ComputationalGraph) and any(node.grad is not None for node in value.nodes)
    }
    if not found:
        print(f"{script}: no graph that has run forward() and backward() among its global variables", file=sys.stderr)
        return 1
    folder = Path(arguments.out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, graph in found.items():
        stem = script.stem if len(found) == 1 else f"{script.stem}_{name}"
        written = animate(graph, folder / f"{stem}.html", title=f"{script.name}: {name}", precision=arguments.precision)
        print(f"wrote {written}")
    return 0


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
:root { --value: __VALUE__; --grad: __GRAD__; --focus: #f59e0b; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 Helvetica, Arial, sans-serif; color: #222; background: #fafafa;
  display: flex; flex-direction: column; height: 100vh; }
header { padding: 8px 16px 4px; }
h1 { font-size: 18px; margin: 0; }
header p { margin: 2px 0 0; color: #666; font-size: 13px; }
#stage { flex: 1 1 auto; overflow: auto; background: white; border-top: 1px solid #ddd;
  border-bottom: 1px solid #ddd; padding: 8px; min-height: 120px; display: flex; }
#stage svg { display: block; margin: auto; height: auto; flex: none; }
#panel { flex: 0 0 auto; padding: 8px 16px 12px; }
#controls { display: flex; align-items: center; gap: 6px; flex-wrap: wrap; }
#controls button { font-size: 15px; min-width: 40px; height: 32px; padding: 4px 10px; cursor: pointer;
  display: inline-flex; align-items: center; gap: 6px; }
#controls button svg { width: 14px; height: 14px; fill: #333; }
#play svg.pause, body[data-playing="true"] #play svg.play { display: none; }
body[data-playing="true"] #play svg.pause { display: inline; }
#slider { flex: 1 1 200px; }
#counter { font-variant-numeric: tabular-nums; min-width: 9em; text-align: right; color: #444; }
#headline { font-size: 17px; margin: 10px 0 4px; min-height: 1.4em; }
#phase { display: inline-block; padding: 1px 8px; border-radius: 10px; color: white; font-size: 13px;
  margin-right: 6px; vertical-align: 2px; }
#phase.forward { background: var(--value); }
#phase.backward { background: var(--grad); }
#detail { font: 13px/1.35 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f1f1f4; margin: 0;
  padding: 8px 10px; border-radius: 4px; white-space: pre-wrap; max-height: 26vh; overflow: auto; }
#keys { color: #777; font-size: 12px; margin: 6px 0 0; }
#stage svg text { font-family: Helvetica, Arial, sans-serif; }
g.node.pending, g.edge.pending { opacity: 0.18; }
text.pending { visibility: hidden; }
text.fresh { font-weight: bold; }
g.node.current ellipse, g.node.current polygon, g.node.current polyline { stroke: var(--focus);
  stroke-width: 4px; }
g.node.current.forward ellipse, g.node.current.forward polygon { fill: #eaf6ea; }
g.node.current.backward ellipse, g.node.current.backward polygon { fill: #fdebed; }
g.node.graded ellipse, g.node.graded polygon { stroke: var(--grad); }
g.lit.forward path, g.lit.forward polygon { stroke: var(--value); stroke-width: 3px; }
g.lit.backward path, g.lit.backward polygon { stroke: var(--grad); stroke-width: 3px; }
g.edge.lit polygon { fill: currentColor; }
g.lit.forward { color: var(--value); }
g.lit.backward { color: var(--grad); }
g.badge rect { fill: white; stroke-width: 1.5px; }
g.badge text { font: bold 12px Helvetica, Arial, sans-serif; }
g.badge.forward rect { stroke: var(--value); }
g.badge.forward text { fill: var(--value); }
g.badge.backward rect, g.badge.sum rect { stroke: var(--grad); }
g.badge.backward text, g.badge.sum text { fill: var(--grad); }
g.badge.sum rect { stroke-dasharray: 3 2; }
</style>
</head>
<body>
<header><h1>__TITLE__</h1><p>__SUMMARY__</p></header>
<div id="stage">__SVG__</div>
<section id="panel">
<div id="controls">
<button id="first" title="First step (Home)" aria-label="First step">
<svg viewBox="0 0 16 16"><path d="M3 2h2v12H3zM14 2v12L6 8z"/></svg></button>
<button id="prev" title="Previous step (&#x2190;)" aria-label="Previous step">
<svg viewBox="0 0 16 16"><path d="M12 2v12L4 8z"/></svg></button>
<button id="play" title="Play or pause (space)">
<svg class="play" viewBox="0 0 16 16"><path d="M4 2v12l10-6z"/></svg>
<svg class="pause" viewBox="0 0 16 16"><path d="M3 2h4v12H3zM9 2h4v12H9z"/></svg><span>play</span></button>
<button id="next" title="Next step (&#x2192;)" aria-label="Next step">
<svg viewBox="0 0 16 16"><path d="M4 2v12l8-6z"/></svg></button>
<button id="last" title="Last step (End)" aria-label="Last step">
<svg viewBox="0 0 16 16"><path d="M2 2v12l8-6zM11 2h2v12h-2z"/></svg></button>
<input id="slider" type="range" min="0" max="__LAST__" value="0" step="1" aria-label="Step">
<label>speed <select id="speed"><option value="0.5">0.5&#xD7;</option><option value="1" selected>1&#xD7;</option>
<option value="2">2&#xD7;</option><option value="4">4&#xD7;</option>
<option value="10">10&#xD7;</option></select></label>
<span id="counter"></span>
</div>
<p id="headline"><span id="phase"></span><span id="sentence"></span></p>
<pre id="detail"></pre>
<p id="keys">&#x2190; &#x2192; step &#xB7; space play/pause &#xB7; Home/End first/last &#xB7;
values flow forward in green, gradients back in red</p>
</section>
<script type="application/json" id="frames">__FRAMES__</script>
<script>
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var frames = JSON.parse(document.getElementById("frames").textContent);
  var stage = document.getElementById("stage");
  var svg = stage.querySelector("svg");
  var slider = document.getElementById("slider");
  var playButton = document.getElementById("play");
  var speed = document.getElementById("speed");
  var staged = Array.prototype.slice.call(svg.querySelectorAll("[data-f]"));
  var graded = Array.prototype.slice.call(svg.querySelectorAll("[data-b]"));
  var edges = {};
  svg.querySelectorAll("[data-edge]").forEach(function (element) {
    (edges[element.dataset.edge] = edges[element.dataset.edge] || []).push(element);
  });
  var bounds = svg.querySelector("g.graph").getBBox(), margin = +svg.dataset.margin;
  bounds = {x: bounds.x, y: bounds.y - margin, width: bounds.width, height: bounds.height + 2 * margin};
  var current = 0, timer = null;

  // As wide as the stage, like a slide, but never so small that labels are unreadable
  // (large graphs scroll) nor more than 1.6 times the drawing's own size.
  function fit() {
    var natural = +svg.dataset.width, room = stage.clientWidth - 16;
    svg.style.width = Math.max(natural * 0.55, Math.min(room, natural * 1.6)) + "px";
  }

  var obstacles = null;  // boxes of the drawing's texts and shapes, which a badge should not cover

  function collectObstacles() {
    obstacles = [];
    svg.querySelectorAll("g.node text, g.node ellipse, g.node polygon").forEach(function (element) {
      var box = element.getBBox();
      if (box.width > 0 && box.height > 0) {
        var padded = {x: box.x - 3, y: box.y - 2, width: box.width + 6, height: box.height + 4};
        obstacles.push({element: element, box: padded});
      }
    });
  }

  function covered(a, b) {
    var across = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
    var down = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
    return across > 0 && down > 0 ? across * down : 0;
  }

  // A label on a rounded box next to a node: below it, or where it covers fewer of the drawing's labels.
  function badge(node, text, kind) {
    if (!node || !text) return;
    if (obstacles === null) collectObstacles();
    var box = node.getBBox();
    var group = document.createElementNS(SVGNS, "g");
    group.setAttribute("class", "badge " + kind);
    var rect = document.createElementNS(SVGNS, "rect");
    var label = document.createElementNS(SVGNS, "text");
    label.setAttribute("text-anchor", "middle");
    label.textContent = text;
    group.appendChild(rect);
    group.appendChild(label);
    node.appendChild(group);
    var size = label.getBBox(), width = size.width + 10, height = size.height + 4;
    var middle = box.x + box.width / 2, centre = box.y + box.height / 2;
    var places = [];  // centres, nearest first: under the node, over it, beside it, then a row further out
    [0, 1].forEach(function (row) {
      var below = box.y + box.height + 4 + height / 2 + row * (height + 2);
      var above = box.y - 4 - height / 2 - row * (height + 2);
      [0, width / 2, -width / 2].forEach(function (shift) {
        places.push([middle + shift, below], [middle + shift, above]);
      });
      if (row === 0) places.push([box.x + box.width + 4 + width / 2, centre], [box.x - 4 - width / 2, centre]);
    });
    var best = null;
    places.forEach(function (place, rank) {
      var x = Math.max(bounds.x + width / 2, Math.min(bounds.x + bounds.width - width / 2, place[0]));
      var area = {x: x - width / 2, y: place[1] - height / 2, width: width, height: height};
      var outside = area.y < bounds.y || area.y + height > bounds.y + bounds.height;
      var cost = rank * 0.001 + (outside ? 5 : 0);
      obstacles.forEach(function (obstacle) {
        if (obstacle.element.classList.contains("pending")) return;
        cost += covered(area, obstacle.box) / (width * height);
      });
      if (best === null || cost < best.cost) best = {cost: cost, area: area};
    });
    rect.setAttribute("x", best.area.x);
    rect.setAttribute("y", best.area.y);
    rect.setAttribute("width", width);
    rect.setAttribute("height", height);
    rect.setAttribute("rx", 4);
    label.setAttribute("x", best.area.x + width / 2);
    label.setAttribute("y", best.area.y + 2 + (-size.y));
  }

  function show(index) {
    index = Math.max(0, Math.min(frames.length - 1, index | 0));
    current = index;
    var frame = frames[index], phase = frame.p === "f" ? "forward" : "backward";
    staged.forEach(function (element) {
      var step = +element.dataset.f;
      element.classList.toggle("pending", step > index);
      if (element.tagName === "text") element.classList.toggle("fresh", step === index);
    });
    graded.forEach(function (element) { element.classList.toggle("graded", +element.dataset.b < index); });
    svg.querySelectorAll(".current, .lit").forEach(function (element) {
      element.classList.remove("current", "lit", "forward", "backward");
    });
    svg.querySelectorAll("g.badge").forEach(function (element) { element.remove(); });
    var node = document.getElementById(frame.n);
    node.classList.add("current", phase);
    frame.e.forEach(function (edge) {
      (edges[edge] || []).forEach(function (element) { element.classList.add("lit", phase); });
    });
    frame.s.forEach(function (sum) { badge(document.getElementById(sum[0]), sum[1], "sum"); });
    badge(node, frame.b, phase);
    document.getElementById("phase").textContent = phase;
    document.getElementById("phase").className = phase;
    document.getElementById("sentence").textContent = frame.h;
    document.getElementById("detail").textContent = frame.c;
    document.getElementById("counter").textContent = "step " + (index + 1) + " of " + frames.length;
    slider.value = index;
    document.body.dataset.step = index;
    if (node.scrollIntoView) node.scrollIntoView({block: "nearest", inline: "nearest"});
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.querySelector("span").textContent = "play";
    document.body.dataset.playing = "false";
  }

  function play() {
    if (current >= frames.length - 1) show(0);
    pause();
    timer = setInterval(function () {
      if (current >= frames.length - 1) pause(); else show(current + 1);
    }, __INTERVAL__ / +speed.value);
    playButton.querySelector("span").textContent = "pause";
    document.body.dataset.playing = "true";
  }

  function toggle() { if (timer === null) play(); else pause(); }
  function step(delta) { pause(); show(current + delta); }

  document.getElementById("first").addEventListener("click", function () { pause(); show(0); });
  document.getElementById("prev").addEventListener("click", function () { step(-1); });
  document.getElementById("next").addEventListener("click", function () { step(1); });
  document.getElementById("last").addEventListener("click", function () { pause(); show(frames.length - 1); });
  playButton.addEventListener("click", toggle);
  slider.addEventListener("input", function () { pause(); show(+slider.value); });
  speed.addEventListener("change", function () { if (timer !== null) play(); });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.matches("input, select, textarea")) return;  // the slider and the speed list take their own keys
    if (target.matches("button") && (event.key === " " || event.key === "Enter")) return;
    var keys = {ArrowRight: function () { step(1); }, ArrowLeft: function () { step(-1); },
      Home: function () { pause(); show(0); }, End: function () { pause(); show(frames.length - 1); },
      " ": toggle};
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  window.addEventListener("resize", fit);
  fit();
  pause();
  show(0);
})();
</script>
</body>
</html>
"""


if __name__ == "__main__":
    sys.exit(main())
