"""Summaries that show themselves: a :class:`Table` prints as text and displays as HTML in a notebook.

:func:`summary` describes any graph (``g.summary()``): its nodes by kind, its
gates by type, its parameters with their shapes and sizes. ``models`` uses
:class:`Table` for ``model.summary()``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gates import shape_of
from graph.node import NodeKind

if TYPE_CHECKING:
    from graph.builder import GraphBuilder
    from graph.node import Node

__all__ = ["Table", "summary"]

_SHOWN_NAMES = 6  # a row lists this many node names, then how many more


@dataclass(frozen=True)
class Table:
    """A titled table of text cells: ``print(table)``, ``str(table)`` and a REPL show it as aligned text.

    A notebook shows it as an HTML table (``_repr_html_``). Columns are
    padded to their widest cell, except the last, so a long last cell (a
    list of names) does not widen the others.

    Attributes
    ----------
    title : str
        The first line (the HTML caption).
    header : tuple of str
        The column names.
    rows : tuple of tuple of str
        The cells, one tuple per row, as many as ``header``.
    footer : str
        The last line (a total), or empty.
    right : tuple of int
        The columns aligned right in the text (numbers), header included.

    Examples
    --------
    >>> Table("fruit", ("name", "count"), (("apple", "3"), ("fig", "12")), "total 15")
    fruit
    name   count
    apple  3
    fig    12
    total 15
    """

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    footer: str = ""
    right: tuple[int, ...] = ()

    def __str__(self) -> str:
        lines = [self.title] if self.title else []
        widths = [max(len(row[i]) for row in (self.header, *self.rows)) for i in range(len(self.header))]
        for row in (self.header, *self.rows):
            cells = [
                cell.rjust(width) if column in self.right else cell.ljust(width)
                for column, (cell, width) in enumerate(zip(row[:-1], widths))
            ]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)

    def __repr__(self) -> str:  # a REPL shows the table itself, not a quoted string with \n in it
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in self.header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in self.rows)
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        foot = (
            f'<tfoot><tr><td colspan="{len(self.header)}">{html.escape(self.footer)}</td></tr></tfoot>'
            if self.footer
            else ""
        )
        return (
            f'<table class="gategraph-summary">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody>{foot}</table>"
        )


def summary(graph: GraphBuilder) -> Table:
    """Any graph at a glance: nodes by kind, gates by type, parameters with their shapes and sizes.

    One row for the inputs, one per parameter (its dtype, shape and number
    of values), one for the constants and one per gate type (in the order
    each type first appears). Long lists of names end with how many more.

    Examples
    --------
    >>> from graph import ComputationalGraph
    >>> g = ComputationalGraph()
    >>> x, w = g.input("x"), g.parameter("w", [[1.0, 2.0], [3.0, 4.0]])
    >>> loss = (x @ w.T).relu().sum().named("loss")
    >>> g.summary()
    ComputationalGraph: 6 nodes (1 input, 1 parameter, 4 gates), 4 parameter values
    kind       type           count  shape   values  nodes
    input                     1                      x
    parameter  float64        1      (2, 2)  4       w
    gate       TransposeGate  1                      transpose_1
    gate       MatMulGate     1                      matmul_1
    gate       ReLUGate       1                      relu_1
    gate       SumGate        1                      loss
    """
    by_kind: dict[NodeKind, list[Node]] = {kind: [] for kind in NodeKind}
    gates: dict[str, list[Node]] = {}
    for node in graph:
        by_kind[node.kind].append(node)
        if node.gate is not None:
            gates.setdefault(type(node.gate).__name__, []).append(node)
    rows = []
    if by_kind[NodeKind.INPUT]:
        rows.append(("input", "", str(len(by_kind[NodeKind.INPUT])), "", "", _names(by_kind[NodeKind.INPUT])))
    values = 0
    for node in by_kind[NodeKind.PARAMETER]:
        size = node.value.size
        values += size
        rows.append(("parameter", str(node.value.dtype), "1", str(shape_of(node.value)), f"{size:,}", node.name))
    if by_kind[NodeKind.CONSTANT]:
        constants = by_kind[NodeKind.CONSTANT]
        rows.append(("constant", "", str(len(constants)), "", "", _names(constants)))
    for gate_type, nodes in gates.items():
        rows.append(("gate", gate_type, str(len(nodes)), "", "", _names(nodes)))
    counts = ", ".join(
        f"{len(nodes)} {kind}{'' if len(nodes) == 1 else 's'}" for kind, nodes in by_kind.items() if nodes
    )
    title = f"{type(graph).__name__}: {len(graph)} nodes ({counts or 'empty'})"
    if by_kind[NodeKind.PARAMETER]:
        title += f", {values:,} parameter values"
    return Table(title, ("kind", "type", "count", "shape", "values", "nodes"), tuple(rows))


def _names(nodes: Iterable[Node]) -> str:
    """``a, b, c`` for a few nodes; ``a, b, ... (98 more)`` for many."""
    listed = [node.name for node in nodes]
    shown = ", ".join(listed[:_SHOWN_NAMES])
    return shown if len(listed) <= _SHOWN_NAMES else f"{shown}, ... ({len(listed) - _SHOWN_NAMES:,} more)"
