"""The foundation's example scripts run and print what the lecture shows."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, capsys: pytest.CaptureFixture) -> str:
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def test_lecture_circuits_prints_the_lectures_numbers(capsys):
    out = run_example("lecture_circuits.py", capsys)
    assert "f = (x + y) z = -12;  gradients {'x': -4.0, 'y': -4.0, 'z': 3.0}" in out
    assert out.count("f = 0.73105857863") == 2
    assert out.count("dw = [-0.19661193, -0.39322387, 0.19661193]  dx = [0.39322387, -0.5898358]") == 2
    assert "gradients {'x': -8.0, 'y': 6.0, 'z': 2.0, 'w': 0.0}" in out


def test_custom_gate_example_passes_the_good_gate_and_catches_the_bug(capsys):
    out = run_example("custom_gate.py", capsys)
    assert "SoftplusGate passes check_gate" in out
    assert "BuggySoftplusGate input 0, element (6,): analytic 26.19154105 vs numeric 1.242156704" in out
    assert "a graph using it passes check_graph" in out
    mlp = out.split("an MLP with BuggySoftplusGate inside fails check_graph:")[1]
    failure, buggy, fixed = mlp.split("\n\n")[:3]
    assert failure.strip().startswith("gradient of 'W1', element (")
    assert "the gate node whose own backward fails its check: node 'hidden' (BuggySoftplusGate)" in failure
    rows = [line.split() for line in buggy.splitlines()[2:-1]]
    assert [row[0] for row in rows if row[3] == "FAIL"] == ["hidden"] and len(rows) == 10
    assert buggy.splitlines()[-1].startswith("1 of 10 gate nodes fail: 'hidden'")
    assert fixed.splitlines()[-1].startswith("all 10 gate nodes pass")


def test_numerical_vs_analytic_agree_and_numerical_is_slower(capsys):
    out = run_example("numerical_vs_analytic.py", capsys)
    assert "387 parameters" in out
    errors = [float(line.rsplit("=", 1)[1]) for line in out.splitlines() if "largest |analytic - numerical|" in line]
    assert len(errors) == 4 and max(errors) < 1e-8
