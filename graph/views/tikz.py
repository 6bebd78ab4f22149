r"""The diagram as a TikZ picture for LaTeX, and as beamer slides that step through the passes.

:func:`to_tikz` writes the diagram that :func:`graph.views.diagram.to_dot`
describes, laid out by Graphviz exactly as the SVG is: ``dot -Tjson`` gives
every node's, edge's and cluster's drawing operations (shapes, splines,
arrowheads, each line of text with its position, font size, weight and
colour), and each becomes one TikZ command at the same coordinates (Graphviz
points are TeX's big points, ``bp``). Content, colours and theme are therefore
the diagram's own; nothing is drawn twice. What each drawing operation shows
(a value, a gradient, a node's name...) comes from the statement notes that
the diagram also writes into the SVG (``to_dot(...).notes``, see
:mod:`graph.views.diagram`), and when it appears on a slide from the engine's
trace (``g.trace``): ``steps=True`` writes a beamer document whose overlays
show, page by page, the leaves' values, each gate's value in the order the
forward pass ran them, the seed gradient 1 at the output, then the gradients
each gate sent back, in the order the backward pass ran them (:func:`slide_steps`).

Names and numbers are escaped for LaTeX (``_ % # & $ { } \ ^ ~ < > |``), and
the few non-ASCII symbols the views write (``× ∂ Σ σ ≥ ᵀ``...) become math.

Why not dot2tex
---------------
``dot2tex`` (MIT licence, PyPI) converts Graphviz's xdot output to TikZ. It
is not used: it parses the xdot text with its own grammar (pyparsing), where
``dot -Tjson`` already gives the same operations as JSON; its own notes say
the drawing order of HTML-like labels, which every node and edge label of the
diagram is, is unresolved; it decodes label text with ``unicode_escape``,
which garbles the symbols above; and it knows nothing of which text is a value
or a gradient, which the beamer overlays need for every line. The conversion
here is a short loop over the JSON's operations.

Compiling needs ``pdflatex`` with TikZ (Debian: ``texlive-latex-base``,
``texlive-pictures``) and, for ``steps=True``, beamer
(``texlive-latex-recommended``).
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from graph.errors import GraphvizNotFoundError
from graph.views.animate import FOCUS_COLOR  # the node a slide is about is outlined as the page highlights it
from graph.views.diagram import to_dot

if TYPE_CHECKING:
    from graph.graph import ComputationalGraph

__all__ = ["to_tikz", "write_tikz", "slide_steps", "Step", "latex_text"]

# Symbols the views write, as LaTeX that pdflatex's default fonts have; anything else non-ASCII
# that is not a Latin letter is written as its code point, visibly, rather than failing to compile.
_SYMBOLS = {
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "⋅": r"\ensuremath{\cdot}",
    "→": r"\ensuremath{\to}",
    "←": r"\ensuremath{\leftarrow}",
    "∂": r"\ensuremath{\partial}",
    "∇": r"\ensuremath{\nabla}",
    "Σ": r"\ensuremath{\Sigma}",
    "∑": r"\ensuremath{\Sigma}",
    "≤": r"\ensuremath{\leq}",
    "≥": r"\ensuremath{\geq}",
    "≠": r"\ensuremath{\neq}",
    "≈": r"\ensuremath{\approx}",
    "±": r"\ensuremath{\pm}",
    "∞": r"\ensuremath{\infty}",
    "∈": r"\ensuremath{\in}",
    "√": r"\ensuremath{\surd}",
    "⊙": r"\ensuremath{\odot}",
    "−": r"\ensuremath{-}",
    "–": "--",
    "…": r"\ldots{}",
    "²": r"\ensuremath{^2}",
    "³": r"\ensuremath{^3}",
    "¹": r"\ensuremath{^1}",
    "⁻": r"\ensuremath{^-}",
    "ᵀ": r"\ensuremath{^{\mathsf{T}}}",
    "ᵢ": r"\ensuremath{_i}",
    "°": r"\ensuremath{^\circ}",
}
_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
_GREEK_UPPER = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


class Step(NamedTuple):
    """One page of the slides: what appears on it.

    Attributes
    ----------
    number : int
        The page, from 1.
    phase : str
        ``"forward"`` or ``"backward"``.
    nodes : tuple of str
        The nodes the page is about: the leaves (first page), a gate whose
        value appears, the output whose seed gradient appears, or a gate
        whose backward sends gradients to its inputs.
    """

    number: int
    phase: str
    nodes: tuple[str, ...]


def slide_steps(graph: ComputationalGraph) -> list[Step]:
    """The slides' pages, from the trace of the last pass.

    One page for the leaves' values, one per gate in the order the last
    forward ran them; then, after a backward, one page for the seed gradient
    at the output and one per gate in the order the backward ran them.

    Examples
    --------
    >>> from models.lecture import first_circuit
    >>> [(step.phase, step.nodes) for step in slide_steps(first_circuit())]  # doctest: +NORMALIZE_WHITESPACE
    [('forward', ('x', 'y', 'z')), ('forward', ('q',)), ('forward', ('f',)),
     ('backward', ('f',)), ('backward', ('f',)), ('backward', ('q',))]
    """
    trace = graph.trace
    gates = [name for name in trace.order if trace.nodes[name].kind == "gate"]
    leaves = tuple(name for name in trace.order if trace.nodes[name].kind != "gate")
    pages: list[tuple[str, tuple[str, ...]]] = [("forward", leaves)] if leaves else []
    pages += [("forward", (name,)) for name in gates]
    if trace.backward is not None:
        pages.append(("backward", (trace.backward,)))
        pages += [("backward", (name,)) for name in trace.backward_order]
    return [Step(number, phase, nodes) for number, (phase, nodes) in enumerate(pages, start=1)]


def to_tikz(
    graph: ComputationalGraph,
    *,
    steps: bool = False,
    document: bool = True,
    engine: str = "dot",
    legend: bool = True,
    **options: Any,
) -> str:
    r"""The diagram as LaTeX: a TikZ picture at Graphviz's positions, or beamer slides.

    Parameters
    ----------
    graph : ComputationalGraph
    steps : bool, default False
        Write a beamer document that steps through the last forward pass,
        then the last backward pass, one page per :func:`slide_steps` entry; the
        node each page is about is outlined. The layout is ``compact=True``
        unless told otherwise; for a long chain, ``rankdir="TB"`` may fit a
        slide better.
    document : bool, default True
        A whole document that ``pdflatex`` compiles (a page the picture's
        size); False gives the ``tikzpicture`` alone, to ``\input`` into a
        document that loads TikZ (``steps=True`` always writes a document).
    engine : str, default "dot"
        The Graphviz layout program.
    legend : bool, default True
        A key to the diagram's writing, as :func:`graph.views.diagram.render` draws.
    **options
        Those of :func:`graph.views.diagram.to_dot` (``theme=``,
        ``explain=``, ``collapse=``...).

    Returns
    -------
    str
        The LaTeX text.

    Raises
    ------
    GraphvizNotFoundError
        Graphviz's layout program is not installed.

    Examples
    --------
    >>> from models.lecture import first_circuit
    >>> tex = to_tikz(first_circuit())
    >>> tex.startswith(r"\RequirePackage{fix-cm}") and r"\begin{tikzpicture}" in tex
    True
    >>> r"{\ensuremath{-}12}" in tex and r"{\ensuremath{-}4}" in tex
    True
    """
    if steps:
        options.setdefault("compact", True)  # the animation's tighter spacing: a larger picture on the slide
    dot = to_dot(graph, legend=legend, **options)
    if shutil.which(engine) is None:
        raise GraphvizNotFoundError(
            f"Graphviz's `{engine}` program was not found on PATH; it lays out the TikZ picture. "
            "Install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS)."
        )
    layout = json.loads(dot.pipe(format="json", engine=engine).decode("utf-8"))
    notes = getattr(dot, "notes", {})
    pages = slide_steps(graph) if steps else []
    picture = _Picture(layout, notes, _Reveal(graph, pages) if steps else None)
    if steps:
        return _beamer(picture, pages)
    return _standalone(picture) if document else picture.tex()


def write_tikz(graph: ComputationalGraph, path, **options: Any) -> Path:
    """Write :func:`to_tikz`'s text to ``path`` (what ``render("f.tex")`` does); options as there."""
    path = Path(os.fspath(path))
    path.write_text(to_tikz(graph, **options), encoding="utf-8")
    return path


def latex_text(text: str) -> str:
    r"""``text`` as LaTeX that typesets it: special characters escaped, the views' symbols as math.

    Examples
    --------
    >>> print(latex_text("dL/d(add_1) = 50% & #2 {x^2}"))
    dL/d(add\_1) = 50\% \& \#2 \{x\textasciicircum{}2\}
    >>> print(latex_text("∂f/∂q × 3 ≥ σ"))
    \ensuremath{\partial}f/\ensuremath{\partial}q \ensuremath{\times} 3 \ensuremath{\geq} \ensuremath{\sigma}
    """
    out: list[str] = []
    for char in text:
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif char.isascii():
            out.append(char)
        elif char == "\u0302" and out:  # a combining hat over the character before: ŷ
            out[-1] = rf"\ensuremath{{\hat{{{out[-1]}}}}}"
        else:
            out.append(_symbol(char))
    return "".join(out)


def _symbol(char: str) -> str:
    if char in _SYMBOLS:
        return _SYMBOLS[char]
    name = unicodedata.name(char, "")
    if name.startswith("GREEK"):
        letter = name.split()[-1].lower()
        if letter in _GREEK:
            if "CAPITAL" not in name:
                return rf"\ensuremath{{\{letter}}}"
            if letter.capitalize() in _GREEK_UPPER:
                return rf"\ensuremath{{\{letter.capitalize()}}}"
    if name.startswith("LATIN") and "\u00c0" <= char <= "\u017f":
        return char  # pdflatex's UTF-8 input writes accented Latin letters
    return rf"\texttt{{[U+{ord(char):04X}]}}"


# -- the picture ------------------------------------------------------------------------------


class _Reveal:
    """On which page each part of the picture appears, from the trace and :func:`slide_steps`."""

    def __init__(self, graph: ComputationalGraph, pages: list[Step]) -> None:
        self.value_page: dict[str, int] = {}
        self.grad_page: dict[str, int] = {}
        self.seed: int | None = None
        self.focus: dict[int, tuple[str, ...]] = {}
        for step in pages:
            self.focus[step.number] = step.nodes
            if step.phase == "forward":
                self.value_page.update(dict.fromkeys(step.nodes, step.number))
            elif self.seed is None:
                self.seed = step.number
            else:
                self.grad_page.update(dict.fromkeys(step.nodes, step.number))
        trace = graph.trace
        self.senders = {
            name: [edge.target for edge in trace.outgoing(name) if edge.sent is not None] for name in trace.order
        }
        self.scopes = {node.name: node.scope or "" for node in graph}

    def page(self, role: str, data: Mapping[str, str]) -> int | None:
        """The first page showing a line of text of ``role`` in a statement noted with ``data``; None: always."""
        if role == "gg-value" and ("source" in data or "source-scope" in data):
            return self._latest(self.value_page, data.get("source"), data.get("source-scope"))
        if role in ("gg-grad", "gg-chain"):
            if "target" not in data and "target-scope" not in data:
                return self.seed  # the output's arrow: the seed
            return self._latest(self.grad_page, data.get("target"), data.get("target-scope"))
        if role == "gg-sum" and "node" in data:
            return max((self.grad_page.get(name, 0) for name in self.senders.get(data["node"], [])), default=0) or None
        return None

    def _latest(self, pages: dict[str, int], name: str | None, scope: str | None) -> int | None:
        if name is not None:
            return pages.get(name)
        inside = [page for node, page in pages.items() if scope and (self.scopes[node] + "/").startswith(scope + "/")]
        return max(inside, default=None)


class _Picture:
    """The TikZ commands for one Graphviz JSON layout, and the colours they use."""

    def __init__(self, layout: dict[str, Any], notes: Mapping[str, Any], reveal: _Reveal | None) -> None:
        self.notes, self.reveal = notes, reveal
        self.colors: dict[str, str] = {}  # "#rrggbb" -> its name in the picture
        left, bottom, right, top = (float(number) for number in layout["bb"].split(","))
        self.width, self.height = right - left, top - bottom
        self.background = _background(layout)
        self.lines: list[str] = []
        self._draw(layout, "")
        objects = layout.get("objects", [])
        clusters = [item for item in objects if "nodes" in item or "edges" in item or "subgraphs" in item]
        nodes = [item for item in objects if item not in clusters]
        for item in clusters + layout.get("edges", []) + nodes:
            self._draw(item, item.get("id", item.get("name", "")))
        if reveal is not None:
            self._highlights(nodes)

    def tex(self) -> str:
        # The box is Graphviz's, whatever TeX's fonts make of the text, so the page and the slides' scale fit it;
        # with Graphviz's own margin of 4 points, so that lines on the edge of the layout are drawn whole.
        corner = _point(self.width + _MARGIN, self.height + _MARGIN)
        box = rf"\useasboundingbox {_point(-_MARGIN, -_MARGIN)} rectangle {corner};"
        if self.background != "#ffffff":  # Graphviz fills its layout's box; the margin takes the colour too
            box += rf" \fill[{self.color(self.background)}] {_point(-_MARGIN, -_MARGIN)} rectangle {corner};"
        definitions = [rf"\definecolor{{{name}}}{{HTML}}{{{code[1:].upper()}}}" for code, name in self.colors.items()]
        begin = r"\begin{tikzpicture}[line cap=round, line join=round, baseline=(current bounding box.south)]"
        return "\n".join([begin, *definitions, box, *self.lines, r"\end{tikzpicture}"])

    def color(self, code: str) -> str | None:
        """The name of a Graphviz colour in the picture; None where it is transparent."""
        code = code.lower()
        if not code.startswith("#"):
            code = _NAMED.get(code, "#000000")
        if len(code) == 9:
            if code[7:] == "00":
                return None
            code = code[:7]
        return self.colors.setdefault(code, f"gg{len(self.colors)}")

    def _draw(self, item: dict[str, Any], statement: str) -> None:
        note = self.notes.get(statement)
        texts = list(note.texts) if note is not None else []
        data = dict(note.data) if note is not None else {}
        state = {"pen": "black", "fill": None, "width": 1.0, "dash": "", "size": 14.0, "bold": False, "italic": False}
        seen = 0
        for key in ("_draw_", "_ldraw_", "_hdraw_", "_tdraw_", "_hldraw_", "_tldraw_"):
            for op in item.get(key, []):
                kind = op["op"]
                if kind in "cC":
                    state["pen" if kind == "c" else "fill"] = self.color(op["color"])
                elif kind == "S":
                    _set_style(state, op["style"])
                elif kind == "F":
                    state["size"] = float(op["size"])
                elif kind == "t":
                    state["bold"], state["italic"] = bool(op["fontchar"] & 1), bool(op["fontchar"] & 2)
                elif kind == "T":
                    role = texts[seen] if seen < len(texts) else ""
                    seen += 1
                    page = self.reveal.page(role, data) if self.reveal is not None else None
                    self.lines.append(_overlay(_text(op, state), page))
                else:
                    shape = _shape(op, state)
                    if shape:
                        self.lines.append(shape)

    def _highlights(self, nodes: list[dict[str, Any]]) -> None:
        """Each page's nodes outlined on that page only."""
        assert self.reveal is not None
        statements = {note.data["node"]: key for key, note in self.notes.items() if "node" in note.data}
        by_id = {item.get("id"): item for item in nodes}
        color = self.color(FOCUS_COLOR)
        for page, names in self.reveal.focus.items():
            for name in names:
                item = by_id.get(statements.get(name))
                if item is None:
                    continue
                state = {"pen": color, "fill": None, "width": 3.0, "dash": "", "outline": True}
                shapes = [_shape(op, state) for op in item.get("_draw_", []) if op["op"] in "EePpLBb"]
                self.lines += [rf"\only<{page}>{{{shape}}}" for shape in shapes if shape]


_MARGIN = 4.0
_NAMED = {"black": "#000000", "white": "#ffffff", "transparent": "#fffffe00", "none": "#fffffe00"}


def _background(layout: dict[str, Any]) -> str:
    """The graph's background colour, ``#rrggbb`` (white where it has none)."""
    fills = [op["color"] for op in layout.get("_draw_", []) if op["op"] == "C"]
    code = fills[-1].lower() if fills else "#ffffff"
    return _NAMED.get(code, code)[:7] if not code.startswith("#") else code[:7]


def _set_style(state: dict[str, Any], style: str) -> None:
    if style.startswith("setlinewidth("):
        state["width"] = float(style[len("setlinewidth(") : -1])
    elif style in ("dashed", "dotted"):
        state["dash"] = style
    elif style == "solid":
        state["dash"] = ""
    elif style == "bold":
        state["width"] = 2.0


def _point(x: float, y: float) -> str:
    return f"({x:.2f}bp,{y:.2f}bp)"


def _shape(op: dict[str, Any], state: dict[str, Any]) -> str | None:
    """One drawing operation (ellipse, polygon, polyline, bezier) as a TikZ path; None where nothing shows."""
    kind = op["op"]
    filled = kind in "EPB" and state["fill"] is not None and not state.get("outline")
    if state["pen"] is None and not filled:
        return None
    options = [f"line width={state['width']:.2f}bp"]
    options.append(f"draw={state['pen']}" if state["pen"] is not None else "draw=none")
    if filled:
        options.append(f"fill={state['fill']}")
    if state["dash"]:
        options.append(state["dash"])
    if kind in "Ee":
        x, y, rx, ry = op["rect"]
        path = f"{_point(x, y)} ellipse ({rx:.2f}bp and {ry:.2f}bp)"
    else:
        points = [_point(x, y) for x, y in op["points"]]
        if kind in "Bb":
            parts = [points[0]]
            for index in range(1, len(points) - 2, 3):
                parts.append(f".. controls {points[index]} and {points[index + 1]} .. {points[index + 2]}")
            path = " ".join(parts)
        else:
            path = " -- ".join(points) + (" -- cycle" if kind in "Pp" else "")
    return rf"\path[{', '.join(options)}] {path};"


def _text(op: dict[str, Any], state: dict[str, Any]) -> str:
    """One line of text, centred where Graphviz centred it (TeX's fonts are not Graphviz's Helvetica)."""
    x, y = op["pt"]
    width = float(op.get("width", 0))
    centre = {"l": x + width / 2, "r": x - width / 2}.get(op.get("align", "c"), x)
    size = state["size"]
    font = rf"\fontsize{{{size:g}}}{{{size * 1.2:.1f}}}\selectfont\sffamily"
    if state["bold"]:
        font += r"\bfseries"
    if state["italic"]:
        font += r"\itshape"
    color = state["pen"] or "black"
    place = rf"\node[anchor=base, inner sep=0pt, text={color}, font={{{font}}}] at {_point(centre, y)}"
    return rf"{place} {{{_number_text(op['text'])}}};"


def _number_text(text: str) -> str:
    """:func:`latex_text`, with a minus sign (not a hyphen) before a number."""
    out = latex_text(text)
    if out.startswith("-") and out[1:2].isdigit():
        out = r"\ensuremath{-}" + out[1:]
    return out.replace(" -", r" \ensuremath{-}").replace("[-", r"[\ensuremath{-}").replace("(-", r"(\ensuremath{-}")


def _overlay(line: str, page: int | None) -> str:
    return line if page is None else rf"\visible<{page}->{{{line}}}"


# -- documents ------------------------------------------------------------------------------


_PREAMBLE = r"""\RequirePackage{fix-cm}
"""


def _standalone(picture: _Picture) -> str:
    return (
        _PREAMBLE
        + r"\documentclass{article}"
        + "\n"
        + rf"\usepackage[paperwidth={picture.width + 2 * _MARGIN:.2f}bp,"
        + rf"paperheight={picture.height + 2 * _MARGIN:.2f}bp,margin=0pt]{{geometry}}"
        + "\n"
        + "\\usepackage{tikz}\n\\pagestyle{empty}\n\\setlength{\\topskip}{0pt}\n\\begin{document}\n\\noindent\n"
        + picture.tex()
        + "\n\\end{document}\n"
    )


def _beamer(picture: _Picture, pages: list[Step]) -> str:
    # 16:9 slides are 160 mm by 90 mm (453 by 255 bp): the picture is scaled into the text width (425 bp
    # between margins of 4 mm) and the height the title and the caption leave.
    scale = min(425 / (picture.width + 2 * _MARGIN), 180 / (picture.height + 2 * _MARGIN))
    forward = sum(step.phase == "forward" for step in pages)
    dark = _luminance(picture.background) < 0.5
    text = "white" if dark else "black"
    lines = [
        _PREAMBLE + r"\documentclass[aspectratio=169]{beamer}",
        r"\usepackage{tikz}",
        r"\setbeamertemplate{navigation symbols}{}",
        r"\setbeamersize{text margin left=4mm, text margin right=4mm}",
        rf"\definecolor{{ggbackground}}{{HTML}}{{{picture.background[1:].upper()}}}",
        r"\setbeamercolor{background canvas}{bg=ggbackground}",
        rf"\setbeamercolor{{frametitle}}{{fg={text}}}",
        rf"\setbeamercolor{{normal text}}{{fg={text}}}",
        r"\begin{document}",
        r"\begin{frame}",
    ]
    if pages:
        titles = [rf"\only<1-{forward}>{{Forward pass}}"] if forward else []
        if forward < len(pages):
            titles.append(rf"\only<{forward + 1}->{{Backward pass}}")
        lines.append(rf"\frametitle{{{''.join(titles)}}}")
    lines += [r"\centering", rf"\scalebox{{{scale:.4f}}}{{%", picture.tex(), "}", r"\par\medskip\footnotesize"]
    for step in pages:
        lines.append(rf"\only<{step.number}>{{{latex_text(_caption(step, pages))}}}")
    lines += [r"\end{frame}", r"\end{document}", ""]
    return "\n".join(lines)


def _caption(step: Step, pages: list[Step]) -> str:
    of_phase = [other for other in pages if other.phase == step.phase]
    where = f"{step.phase} step {of_phase.index(step) + 1} of {len(of_phase)}"
    names = ", ".join(step.nodes)
    if step.phase == "forward":
        what = f"the leaves {names} take their values" if of_phase.index(step) == 0 else f"{names} computes its value"
    elif of_phase.index(step) == 0:
        what = f"the gradient of {names} with respect to itself is 1"
    else:
        what = f"{names} sends gradients back to its inputs"
    return f"{where}: {what}"


def _luminance(code: str) -> float:
    red, green, blue = (int(code[index : index + 2], 16) / 255 for index in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue
