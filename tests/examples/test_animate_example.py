"""examples/animate_backprop.py writes one self-contained page per lecture circuit."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_animate_backprop_writes_the_lectures_circuits(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["animate_backprop.py", str(tmp_path / "pages")])
    runpy.run_path(str(EXAMPLES / "animate_backprop.py"), run_name="__main__")
    out = capsys.readouterr().out
    written = sorted(path.name for path in (tmp_path / "pages").iterdir())
    assert written == ["circuit.html", "mlp.html", "neuron.html", "patterns.html"]
    assert out.count("wrote ") == 4
    circuit = (tmp_path / "pages" / "circuit.html").read_text(encoding="utf-8")
    assert "f = (x + y) z at x = -2, y = 5, z = -4" in circuit
    assert '"badge":"dL/dx = -4"' in circuit and '"badge":"dL/dz = 3"' in circuit
    neuron = (tmp_path / "pages" / "neuron.html").read_text(encoding="utf-8")
    assert '"badge":"dL/dw0 = -0.1966"' in neuron and '"badge":"= 0.7311"' in neuron
    patterns = (tmp_path / "pages" / "patterns.html").read_text(encoding="utf-8")
    assert "gradient router" in patterns and '"badge":"dL/dx = -8"' in patterns
