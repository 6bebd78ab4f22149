"""examples/export_svg.py writes the lecture's circuits and an MLP as SVG that reads back as XML."""

import runpy
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SVG = "{http://www.w3.org/2000/svg}"
FIGURES = ["circuit", "neuron", "neuron_explained", "patterns", "mlp", "mlp_collapsed"]


def texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(text.itertext()) for text in root.iter(f"{SVG}text")]


def test_export_svg_writes_every_figure_with_its_numbers(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["export_svg.py", str(tmp_path / "figures"), "--png"])
    runpy.run_path(str(EXAMPLES / "export_svg.py"), run_name="__main__")
    out = capsys.readouterr().out

    folder = tmp_path / "figures"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{name}{suffix}" for name in FIGURES for suffix in (".svg", ".png")
    )
    assert all((folder / f"{name}.png").read_bytes().startswith(b"\x89PNG") for name in FIGURES)
    circuit = texts(folder / "circuit.svg")
    assert {"x", "y", "z", "q", "f", "-12", "-4", "3"} <= set(circuit)
    neuron = texts(folder / "neuron.svg")
    assert {"w0", "x0", "0.7311", "-0.1966", "0.3932", "-0.3932", "-0.5898", "0.1966"} <= set(neuron)
    assert "0.1966 × 2 = 0.3932" in texts(folder / "neuron_explained.svg")
    assert {"max", "-20", "-8", "6", "0"} <= set(texts(folder / "patterns.svg"))
    mlp = texts(folder / "mlp.svg")
    assert {"layer1", "layer2", "layer3", "loss", "W1", "b3", "MSE"} <= set(mlp)
    collapsed = texts(folder / "mlp_collapsed.svg")
    assert {"layer1", "layer3", "loss"} <= set(collapsed) and "W1" not in collapsed

    assert f"wrote {folder / 'circuit.svg'}" in out
    assert "backward pass from f," in out and "to x0" in out


def test_export_svg_writes_to_out_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["export_svg.py"])
    runpy.run_path(str(EXAMPLES / "export_svg.py"), run_name="__main__")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{name}.svg" for name in FIGURES)


def test_the_large_graph_is_an_mlp_of_scalar_gates():
    example = runpy.run_path(str(EXAMPLES / "export_svg.py"))
    g = example["scalar_mlp"]((2, 3, 1))
    gates = [node for node in g if node.kind == "gate"]
    assert len(gates) == 2 * (2 * 3 + 3 * 1) + 3  # a * and a + per weight, a ReLU per hidden unit
    assert {node.scope for node in gates} == {"layer1", "layer2"}
    assert sum(node.kind == "gate" for node in example["scalar_mlp"]()) == 2160
