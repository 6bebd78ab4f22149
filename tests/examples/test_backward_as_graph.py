"""examples/backward_as_graph.py: the lecture circuit's backward drawn, higher orders, Newton with hvp."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "backward_as_graph.py"


def test_backward_as_graph_example(tmp_path, capsys, monkeypatch):
    svg = tmp_path / "backward.svg"
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), str(svg)])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert "backward(): {'x': -4.0, 'y': -4.0, 'z': 3.0}" in out
    assert "the backward as gate nodes: df/dx = -4, df/dy = -4, df/dz = 3" in out
    assert "7 gradient nodes in scope grad(f)" in out
    assert "d/dz (df/dx) = 1\n" in out
    third = out.split("d³/dt³ tanh(t) at 0.5 = ")[1].split()
    exact = -2 * (1 - np.tanh(0.5) ** 2) * (1 - 3 * np.tanh(0.5) ** 2)
    assert float(third[0]) == float(third[2].rstrip(")")) == round(exact, 12)
    norms = [float(line.split("|gradient| ")[1]) for line in out.splitlines() if "|gradient|" in line]
    assert len(norms) == 6 and norms[4] < 1e-8 < norms[2]  # quadratic convergence: 1e-3, 1e-5, 1e-10
    assert "vᵀHv / vᵀv = " in out
    text = svg.read_text()
    assert text.startswith("<?xml") and "grad(f)" in text and "sum_to_1" in text


def test_help_is_a_usage_line_not_a_file_named_help(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), "--help"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
