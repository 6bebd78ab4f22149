"""Step-through backprop: the last forward and backward pass, animated in one HTML file.

The lecture walks through a circuit node by node: the forward values first,
then the gradients from the output back to every input, upstream times local
at each gate, summed where a node fans out. :func:`animate` writes that walk
for any graph as a single self-contained page (inline SVG, CSS and script; no
network) with play/pause, previous/next, a slider, keyboard arrows and a speed
control. The diagram is the one :mod:`graph.views.diagram` draws, laid out
once by Graphviz's ``dot``; the page only reveals and highlights its parts,
found by the classes and data attributes the diagram documents. The captions
are :func:`graph.views.explain.explain`'s text, step by step.

Like every view, this reads the last pass and never runs the graph.

The page is made of three files shipped with the package,
``graph/views/page/page.html``, ``page.css`` and ``page.js``, inlined into
one HTML file with the diagram and the page's data, a JSON object:

``title``, ``summary``
    The page's heading and the line under it.
``settings``
    ``interval_ms`` (milliseconds a step when playing at 1×),
    ``badge_margin`` (room above and below the drawing for the badges, in
    the drawing's units) and ``colors`` (``value``, ``gradient``, ``focus``).
    ``quiz`` (true: ask for each one-element gradient before showing it).
``steps``
    One object per :class:`Frame`, in playing order: ``phase``
    (``"forward"`` or ``"backward"``), ``node``, ``headline``, ``caption``,
    ``badge``, ``sums`` (a list of ``{"node", "text"}``), ``edges`` (a
    list of ``{"source", "target"}``), ``answer`` (the gradient the node
    receives as a number, or null) and ``reveal`` (its chain-rule line).
``tooltips``
    One object per node: ``node``, and what hovering over it says ``before``
    its forward step (no values) and once ``computed`` (with its value), so
    that a tooltip is never ahead of the step shown; after its backward step
    it says what the diagram's own tooltip says (with its gradient too).
``focus``
    null, or with ``focus=``: ``node``, ``outputs``, ``nodes`` (the names of
    the nodes on the paths from the output to it) and ``edges`` (the edges on
    them, ``{"source", "target"}``).

The address may name a step, ``page.html#step=12`` (counted from 1); the page
opens there and keeps the address at the step shown, to link from lecture notes.

Command line: ``python -m graph.animate script.py`` runs the script and writes
one page per graph it leaves behind that has run forward.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from graph.errors import BackwardError
from graph.views import diagram
from graph.views.explain import heading, node_block, sum_over_paths
from graph.views.focus import Focus, count_paths, focus_on
from graph.views.record import LastPass
from graph.views.text import (
    chain_rule,
    changed_lines,
    expression,
    fan_out_sum,
    format_value,
    grad_name,
    local_formula,
    node_tooltip,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from graph.graph import ComputationalGraph
    from graph.node import Node

__all__ = ["Frame", "FanOutSum", "Edge", "frames", "to_html", "animate", "page_file", "main"]

FOCUS_COLOR = "#f59e0b"
_BADGE_MARGIN = 24  # room above and below the drawing for the badge the page writes beside a node
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"


class FanOutSum(NamedTuple):
    """The running sum at a fan-out node, as a step of the backward pass leaves it."""

    node: str
    text: str


class Edge(NamedTuple):
    """A drawn edge by its nodes' names."""

    source: str
    target: str


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
        The step in detail: for the backward pass, :func:`graph.views.explain.explain`'s
        block for the node; for the forward pass, its first line and the inputs.
    badge : str
        What the page writes on the node: its value (forward) or gradient (backward).
    sums : tuple of FanOutSum
        Running sums at fan-out: for each input of this gate that feeds more than
        one gate, its name and the branches' gradients received so far.
    edges : tuple of Edge
        The edges lit in this step: a gate's inputs, along which values
        arrive (forward) or gradients leave (backward); in the backward pass
        of a leaf, the edges its gradient came back along.
    answer : float or None
        In the backward pass, the gradient the node receives where it has one
        element and is not the output (whose gradient is the seed): what the
        quiz asks for. None otherwise.
    reveal : str
        In the backward pass, how the node's gradient came: the chain rule along
        each edge it came back on, and their sum at a fan-out.
    """

    phase: str
    node: str
    headline: str
    caption: str
    badge: str
    sums: tuple[FanOutSum, ...] = ()
    edges: tuple[Edge, ...] = ()
    answer: float | None = None
    reveal: str = ""


def frames(
    graph: ComputationalGraph,
    *,
    precision: int = 4,
    max_elements: int = 6,
    skip_leaves: bool = False,
    quiz: bool = False,
    focus: Node | str | None = None,
) -> list[Frame]:
    """The steps of the last forward and backward pass, in the order the page plays them.

    First one step per node holding a value, in topological order (leaves
    first); then one step per node the backward pass reached, in the reverse
    topological order :func:`graph.views.explain.explain` uses, from the
    output back to the leaves. After a forward without a backward, the
    forward steps only; the last one says the backward pass has not run.

    Parameters
    ----------
    graph : ComputationalGraph
        A graph after ``forward`` (and usually ``backward``).
    precision : int, default 4
        Significant digits of numbers.
    max_elements : int, default 6
        Arrays with more elements are written as shape, dtype, mean and norm.
    skip_leaves : bool, default False
        Inputs and constants take no forward step of their own: their values
        appear with the first gate that reads them (every backward step stays:
        a leaf's gradient is what the pass is for).
    quiz : bool, default False
        Captions for a quiz: a gate's backward step does not say what it sends
        to its inputs, and no running sums are written, so that each node's
        gradient is first shown at its own step (where the page asks for it).
    focus : Node or str, optional
        The focused node's backward step also writes its gradient as the sum
        over the paths from the output of the products of local gradients
        (:func:`graph.views.explain.sum_over_paths`).

    Raises
    ------
    BackwardError
        No forward has run.
    NodeNotFoundError, FocusError
        ``focus`` names no node of the graph, or one that does not reach the output.

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
    last = LastPass(graph)
    if not last.forward_order:
        raise BackwardError("animate() shows the last forward (and backward) pass: run forward() first")
    focused = None if focus is None else focus_on(graph, focus).node

    def text(value) -> str:
        return format_value(value, precision, max_elements)

    skipped = ("input", "constant") if skip_leaves else ()
    steps = [
        _forward_frame(last, node, text, precision)
        for node in last.forward_order
        if not (node.gate is None and node.kind in skipped)
    ]
    if not last.backward_order:
        final = steps[-1]
        note = " The backward pass has not run: call backward() to see the gradients."
        steps[-1] = replace(final, headline=final.headline + note)
        return steps
    arrived: dict[str, list] = {}  # gradients each fan-out node has received so far
    output = last.backward_order[0]
    for node in last.backward_order:
        frame = _backward_frame(last, node, node is output, arrived, text, precision)
        if node.name == focused:
            frame = replace(frame, caption=f"{frame.caption}\n\n{sum_over_paths(last, node, precision)}")
        if quiz:
            kept = [line for line in frame.caption.split("\n") if not line.startswith(("  to ", "  sum at "))]
            frame = replace(frame, caption="\n".join(kept), sums=())
        steps.append(frame)
    return steps


def _forward_frame(last: LastPass, node: Node, text: Callable[[Any], str], precision: int) -> Frame:
    value = text(last.value(node))
    lines = [heading(last, node, precision)]
    if node.gate is not None:
        arguments = ", ".join(f"{source.name} = {text(last.value(source))}" for source in node.inputs)
        lines.append(f"  inputs    {arguments}")
        if all(not np.shape(last.value(source)) for source in node.inputs):
            written = expression(node.gate, [text(last.value(source)) for source in node.inputs])
        else:
            written = expression(node.gate, [source.name for source in node.inputs])
        headline = f"{node.name} = {written} = {value}"
        edges = tuple(Edge(source.name, node.name) for source in node.inputs)
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


def _backward_frame(
    last: LastPass, node: Node, is_output: bool, arrived: dict[str, list], text: Callable[[Any], str], precision: int
) -> Frame:
    caption = node_block(last, node, precision)
    badge = f"{grad_name(node.name)} = {text(last.grad(node))}"
    answer = None if is_output or np.size(last.grad(node)) != 1 else float(np.asarray(last.grad(node)).item())
    reveal = _reveal(last, node, is_output, precision)
    start = f"The backward pass starts at the output {node.name}: {badge}. " if is_output else ""
    if node.gate is None:
        branches = last.received(node)
        edges = tuple(dict.fromkeys(Edge(node.name, part.target.name) for part in branches))
        if len(branches) > 1:
            headline = f"{node.name} fed {len(branches)} gates; the gradients they sent back add up: {badge}."
        else:
            headline = f"{node.name} has its gradient: {badge}."
        return Frame("backward", node.name, start + headline, caption, badge, edges=edges, answer=answer, reveal=reveal)

    wanting = [(source, last.sent(node, position)) for position, source in enumerate(node.inputs)]
    wanting = [(source, sent) for source, sent in wanting if sent is not None]
    names = list(dict.fromkeys(source.name for source, _ in wanting))
    targets = " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]
    if names:
        headline = (
            f"{node.name} multiplies its upstream gradient {badge} by its local gradient "
            f"and sends the product to {targets}."
        )
    else:
        headline = f"{node.name} receives {badge}; none of its inputs needs a gradient."

    for source, sent in wanting:
        arrived.setdefault(source.name, []).append(sent)
    sums = []
    for source in dict.fromkeys(source for source, _ in wanting):
        expected = len(last.received(source))
        if expected > 1:
            parts = arrived[source.name]
            subtotal = parts[0]
            for part in parts[1:]:
                subtotal = subtotal + part
            sums.append(FanOutSum(source.name, fan_out_sum(parts, subtotal, text, expected=expected)))
    if sums:
        caption += "\n" + "\n".join(f"  {'sum at ' + name:<10}{line}" for name, line in sums)
    edges = tuple(dict.fromkeys(Edge(source.name, node.name) for source, _ in wanting))
    return Frame("backward", node.name, start + headline, caption, badge, tuple(sums), edges, answer, reveal)


def _reveal(last: LastPass, node: Node, is_output: bool, precision: int) -> str:
    """How ``node``'s gradient came: the chain rule along each edge it came back on, then their sum."""
    if is_output:
        return f"{grad_name(node.name)} = {format_value(last.grad(node), precision)}: the seed of the backward pass"
    lines = []
    for part in last.received(node):
        target = part.target
        assert target.gate is not None  # a gradient is sent back by a gate
        inputs = [source.name for source in target.inputs]
        formula = local_formula(target.gate, part.position, len(inputs), target.name, inputs)
        rule = chain_rule(last.grad(target), part.sent, formula, precision, last.local(target, part.position))
        lines.append(f"from {target.name}: {rule}")
    if len(lines) > 1:
        lines.append(f"{grad_name(node.name)} = {format_value(last.grad(node), precision)} (the branches add)")
    return "\n".join(lines)


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
    quiz: bool = False,
    skip_leaves: bool = False,
    focus: Node | str | None = None,
) -> str:
    """The animation as one self-contained HTML page (inline SVG, CSS and script).

    Parameters are those of :func:`animate`.

    Raises
    ------
    BackwardError
        No forward has run.
    GraphvizNotFoundError
        Graphviz's ``dot`` program, which lays the diagram out, is not installed.
    NodeNotFoundError, FocusError
        ``focus`` names no node of the graph, or one that does not reach the output.
    """
    steps = frames(
        graph, precision=precision, max_elements=max_elements, skip_leaves=skip_leaves, quiz=quiz, focus=focus
    )
    where = None if focus is None else focus_on(graph, focus)
    svg = diagram.to_svg(
        graph,
        precision=precision,
        max_elements=max_elements,
        local_gradients=local_gradients,
        rankdir=rankdir,
        compact=True,
    )
    gates = sum(node.gate is not None for node in graph.nodes)
    forward = sum(frame.phase == "forward" for frame in steps)
    backward = f"{len(steps) - forward} backward steps" if len(steps) > forward else "the backward pass has not run"
    summary = f"{len(graph.nodes)} nodes, {gates} gates · {forward} forward steps, {backward}"
    if where is not None:
        count = count_paths(graph, where)
        summary += (
            f" · focus: the {count:,} path{'s' if count != 1 else ''} from {where.node} "
            f"to {', '.join(where.outputs)}, the rest faded"
        )
    changed = changed_lines(graph.trace)
    if changed:
        summary += " · " + " ".join(changed)
    data = {
        "title": title or "Backpropagation, step by step",
        "summary": summary,
        "settings": {
            "quiz": quiz,
            "interval_ms": round(interval * 1000),
            "badge_margin": _BADGE_MARGIN,
            "colors": {"value": diagram.VALUE_COLOR, "gradient": diagram.GRAD_COLOR, "focus": FOCUS_COLOR},
        },
        "steps": [
            {
                "phase": frame.phase,
                "node": frame.node,
                "headline": frame.headline,
                "caption": frame.caption,
                "badge": frame.badge,
                "sums": [sum_._asdict() for sum_ in frame.sums],
                "edges": [edge._asdict() for edge in frame.edges],
                "answer": frame.answer,
                "reveal": frame.reveal,
            }
            for frame in steps
        ],
        "tooltips": _tooltips(graph, precision, max_elements),
        "focus": None if where is None else _focus_data(where),
    }
    return _page(_slim(svg), data)


def _tooltips(graph: ComputationalGraph, precision: int, max_elements: int) -> list[dict[str, str]]:
    """Each node's tooltip as the page shows it before the node's forward step, and after it until its backward."""
    last = LastPass(graph)

    def text(value) -> str:
        return format_value(value, precision, max_elements)

    return [
        {
            "node": node.name,
            "before": node_tooltip(last, node, text, precision, computed=False, graded=False),
            "computed": node_tooltip(last, node, text, precision, graded=False),
        }
        for node in graph.nodes
    ]


def _focus_data(where: Focus) -> dict[str, Any]:
    """The paths ``focus=`` highlights, by the names the diagram's data attributes carry."""
    return {
        "node": where.node,
        "outputs": list(where.outputs),
        "nodes": sorted(where.nodes),
        "edges": [{"source": source, "target": target} for source, target in sorted(where.edges)],
    }


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
    quiz: bool = False,
    skip_leaves: bool = False,
    focus: Node | str | None = None,
) -> Path:
    """Write the last forward and backward pass of ``graph`` as a step-through animation.

    One HTML file that needs no network: open it in a browser, step with the
    arrow keys or the buttons, drag the slider, or press play. Each step
    highlights one node: in the forward pass the value it produced, in the
    backward pass its upstream gradient, the local gradient and what it sends
    to each input, with the running sum where an input fans out. The caption
    is :func:`graph.views.explain.explain`'s text for that node. After a
    forward without a backward, the page steps through the forward pass and
    says the backward has not run. Open ``page.html#step=12`` to start at
    step 12; the address follows the steps.

    Parameters
    ----------
    graph : ComputationalGraph
        A graph after ``forward`` (and usually ``backward``).
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
        diagram (the caption always gives it), as :func:`graph.views.diagram.to_dot` does.
    rankdir : {"LR", "TB", "RL", "BT"}, default "LR"
        Direction of the forward pass in the diagram.
    interval : float, default 1.2
        Seconds per step when playing at 1× speed.
    quiz : bool, default False
        Before each backward step whose gradient has one element, the page asks
        for the gradient the node receives, checks the answer (relative error
        1e-3 or absolute 1e-6), then shows it with its chain-rule line and keeps
        a score. Array gradients are shown without a question.
    skip_leaves : bool, default False
        Inputs and constants take no forward step of their own; their values
        appear with the first gate that reads them.
    focus : Node or str, optional
        Highlight the paths from the output back to this node and fade the
        rest, as ``render(..., focus=)`` does; the node's backward step also
        writes its gradient as the sum over those paths of the products of
        local gradients (``explain(focus=)``).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    BackwardError
        No forward has run.
    GraphvizNotFoundError
        Graphviz's ``dot`` program is not installed.
    NodeNotFoundError, FocusError
        ``focus`` names no node of the graph, or one that does not reach the output.

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
        quiz=quiz,
        skip_leaves=skip_leaves,
        focus=focus,
    )
    path = Path(os.fspath(path))
    path.write_text(page, encoding="utf-8")
    return path


def _slim(svg: str) -> str:
    """The diagram as the page holds it: no XML prolog, no hover titles (the richer tooltips of the
    ``<a>`` inside show instead), no font on every text (the page's CSS sets it), no ids of tooltip
    wrappers and no whitespace between elements (a tenth of a large diagram)."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    root = ET.fromstring(svg[svg.index("<svg") :])
    for group in root.iter(f"{{{_SVG_NS}}}g"):
        for title in group.findall(f"{{{_SVG_NS}}}title"):
            group.remove(title)
    for element in root.iter():
        element.tail = None
        if element.tag == f"{{{_SVG_NS}}}text":
            element.attrib.pop("font-family", None)
        elif element.get("id", "").startswith("a_"):
            del element.attrib["id"]
    return ET.tostring(root, encoding="unicode")


# The page's files, each inlined in place of the one element of page.html that names it (or holds it).
_PAGE_FILES = ("page.html", "page.css", "page.js")
_STYLE_LINK = '<link rel="stylesheet" href="page.css">'
_SCRIPT_LINK = '<script src="page.js"></script>'
_STAGE = '<div id="stage"></div>'
_DATA = '<script type="application/json" id="page-data"></script>'


def page_file(name: str) -> str:
    """The text of one of the page's files (``page.html``, ``page.css``, ``page.js``), shipped with the package.

    Examples
    --------
    >>> page_file("page.js").startswith("// The animation page's script.")
    True
    """
    if name not in _PAGE_FILES:
        raise ValueError(f"the page's files are {', '.join(_PAGE_FILES)}, not {name!r}")
    return (resources.files("graph.views") / "page" / name).read_text(encoding="utf-8")


def _page(svg: str, data: dict[str, Any]) -> str:
    """page.html with its style sheet, its script, the diagram and the data inlined: one file, no network."""
    html = page_file("page.html")
    inlined = {
        _STYLE_LINK: f"<style>\n{page_file('page.css')}</style>",
        _SCRIPT_LINK: f"<script>\n{page_file('page.js')}</script>",
        _STAGE: f'<div id="stage">{svg}</div>',
        _DATA: f'<script type="application/json" id="page-data">{_script_json(data)}</script>',
    }
    for slot in inlined:
        if html.count(slot) != 1:
            raise RuntimeError(
                f"page.html must hold {slot} exactly once, to be inlined; it holds it {html.count(slot)}"
            )
    # One pass: what is inlined (a name in the diagram or the data, say) is never scanned again.
    return re.sub("|".join(map(re.escape, inlined)), lambda match: inlined[match.group(0)], html)


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
    ComputationalGraph among its global variables that has run forward:
    ``<script>.html``, or ``<script>_<variable>.html`` where there are several.
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
        if isinstance(value, ComputationalGraph) and LastPass(value).forward_order
    }
    if not found:
        print(f"{script}: no graph that has run forward() among its global variables", file=sys.stderr)
        return 1
    folder = Path(arguments.out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, graph in found.items():
        stem = script.stem if len(found) == 1 else f"{script.stem}_{name}"
        written = animate(graph, folder / f"{stem}.html", title=f"{script.name}: {name}", precision=arguments.precision)
        print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
