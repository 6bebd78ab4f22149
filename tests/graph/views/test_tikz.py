"""TikZ pictures and beamer slides of the diagram, compiled with pdflatex and read back with poppler;
themes, legend and dpi of the diagram itself."""

from __future__ import annotations

import inspect
import json
import re
import struct
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import gates
from graph import ComputationalGraph
from graph.views.diagram import GRAD_COLOR, THEMES, VALUE_COLOR, to_dot, to_svg
from graph.views.tikz import latex_text, slide_steps, to_tikz
from models import MLP, lecture

SVG = "{http://www.w3.org/2000/svg}"


def compile_tex(tex_path: Path) -> Path:
    """pdflatex run on ``tex_path`` in its folder; the PDF, or the log's error lines in the failure."""
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
        cwd=tex_path.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in run.stdout.splitlines() if line.startswith("!") or "Error" in line]
    assert run.returncode == 0, "\n".join(errors or run.stdout.splitlines()[-20:])
    pdf = tex_path.with_suffix(".pdf")
    assert pdf.stat().st_size > 1000
    return pdf


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    text = subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # TeX's minus sign (as the diagram writes numbers), and the OT1 font's circumflex and tilde accents
    return text.replace("\u2212", "-").replace("\u02c6", "^").replace("\u02dc", "~")


def numbers_on(pdf: Path, page: int) -> Counter:
    """The numbers drawn on one slide, the caption (the line naming the step) left out."""
    lines = [line for line in pdf_text(pdf, page).splitlines() if "step" not in line]
    tokens = " ".join(lines).split()
    return Counter(token for token in tokens if re.fullmatch(r"-?\d+(\.\d+)?", token))


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


# -- the picture ------------------------------------------------------------------------------------------


def test_the_lecture_circuit_compiles_to_one_page_with_its_names_and_numbers(tmp_path):
    g = lecture.first_circuit()
    path = g.render(tmp_path / "f.tex")
    assert path == tmp_path / "f.tex"
    pdf = compile_tex(path)
    assert pdf_pages(pdf) == 1
    words = pdf_text(pdf).split()
    for name in ("x", "y", "z", "q", "f", "+", "*"):
        assert name in words
    numbers = Counter(word for word in words if re.fullmatch(r"-?\d+", word))
    # values -2, 5, 3, -4 (z), -12; gradients -4 (x, y, q), 3 (z), 1 (the seed); local ∂f/∂q = z = -4, ∂f/∂z = q = 3
    assert numbers == Counter({"-4": 5, "3": 3, "-2": 1, "5": 1, "-12": 1, "1": numbers["1"]})
    assert numbers["1"] >= 1
    assert "value (forward)" in pdf_text(pdf) and "gradient (backward)" in pdf_text(pdf)


def test_the_page_is_graphvizs_bounding_box_and_every_shape_sits_where_graphviz_put_it(tmp_path):
    g = lecture.first_circuit()
    layout = json.loads(to_dot(g, legend=True).pipe(format="json"))
    width, height = (float(number) for number in layout["bb"].split(",")[2:])
    tex = to_tikz(g)
    assert f"paperwidth={width + 8:.2f}bp,paperheight={height + 8:.2f}bp" in tex  # and 4 points around
    for item in layout["objects"]:
        for op in item.get("_draw_", []):
            if op["op"] == "E":  # the gates' ellipses, at Graphviz's centres and radii
                x, y, rx, ry = op["rect"]
                assert f"({x:.2f}bp,{y:.2f}bp) ellipse ({rx:.2f}bp and {ry:.2f}bp)" in tex
    pdf = compile_tex(Path(g.render(tmp_path / "f.tex")))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert abs(float(size.group(1)) - width - 8) < 1 and abs(float(size.group(2)) - height - 8) < 1


def test_the_picture_alone_goes_into_a_document(tmp_path):
    g = lecture.sigmoid_neuron()
    picture = to_tikz(g, document=False)
    assert picture.startswith(r"\begin{tikzpicture}") and picture.endswith(r"\end{tikzpicture}")
    host = tmp_path / "notes.tex"
    host.write_text(
        "\\documentclass{article}\n\\usepackage{tikz}\n\\begin{document}\nThe neuron:\n\n"
        f"\\resizebox{{\\linewidth}}{{!}}{{{picture}}}\n\\end{{document}}\n"
    )
    text = pdf_text(compile_tex(host))
    assert "The neuron:" in text and "0.7311" in text and "-0.1966" in text and "exp" in text.split()


NASTY = ["a_b", "50%", "#1", "R&D", "$x", "{y}", "back\\slash", "x^2", "~t", "<in>", "a|b"]


def test_names_with_latex_special_characters_are_escaped_and_come_out_as_written(tmp_path):
    g = ComputationalGraph()
    leaves = [g.input(name) for name in NASTY]
    total = leaves[0]
    for leaf in leaves[1:]:
        total = total + leaf
    g.forward({name: float(index) for index, name in enumerate(NASTY)})
    g.backward()
    path = g.render(tmp_path / "nasty.tex")
    assert r"{a\_b}" in path.read_text() and r"{back\textbackslash{}slash}" in path.read_text()
    words = pdf_text(compile_tex(path)).split()
    for name in NASTY:
        # OT1 fonts draw \_ as a rule, which pdftotext does not read as a character
        assert name.replace("_", "") in words, name
    small = ComputationalGraph()  # the slides' captions name the nodes too
    small.add_gate(gates.MultiplyGate(), small.input("R&D"), small.input("$x"), name="50%_{y}")
    small.forward({"R&D": 2.0, "$x": 3.0})
    small.backward()
    slides = compile_tex(small.render(tmp_path / "nasty_steps.tex", steps=True))
    assert pdf_pages(slides) == len(slide_steps(small)) == 4
    assert "50% {y} sends gradients back to its inputs" in pdf_text(slides, 4)  # the underscore: a rule, a gap


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("a_b", r"a\_b"),
        ("50%", r"50\%"),
        ("#1", r"\#1"),
        ("R&D", r"R\&D"),
        ("$x", r"\$x"),
        ("{y}", r"\{y\}"),
        ("a\\b", r"a\textbackslash{}b"),
        ("x^2", r"x\textasciicircum{}2"),
        ("~t", r"\textasciitilde{}t"),
        ("<>|", r"\textless{}\textgreater{}\textbar{}"),
        ("∂f/∂q", r"\ensuremath{\partial}f/\ensuremath{\partial}q"),
        ("σ(x) · W", r"\ensuremath{\sigma}(x) \ensuremath{\cdot} W"),
        ("y\u0302", r"\ensuremath{\hat{y}}"),
        ("ŷ", "ŷ"),
        ("Wᵀ", r"W\ensuremath{^{\mathsf{T}}}"),
        ("café", "café"),
        ("☃", r"\texttt{[U+2603]}"),
    ],
)
def test_latex_text(text, latex):
    assert latex_text(text) == latex


def test_every_symbol_the_gates_and_views_write_has_a_latex_form():
    written = []
    for name, gate in inspect.getmembers(gates, inspect.isclass):
        if name.endswith("Gate"):
            for attribute in ("symbol", "local_gradient", "pattern"):
                value = getattr(gate, attribute, "")
                written += list(value) if isinstance(value, tuple) else [value if isinstance(value, str) else ""]
    views = Path(__file__).parents[3] / "graph" / "views"
    for module in ("text.py", "diagram.py"):  # the chain rule's ×, →, the fan-out's Σ...
        source = (views / module).read_text(encoding="utf-8")
        written += re.findall(r"\"[^\"\n]*\"|'[^'\n]*'", source)
    assert any("×" in text for text in written) and any("∂" in text or "d" in text for text in written)
    missing = sorted(text for text in written if "[U+" in latex_text(text))
    assert missing == []


# -- the slides -------------------------------------------------------------------------------------------


def test_the_steps_are_the_traces_forward_then_backward_order():
    g = lecture.patterns_circuit()
    trace = g.trace
    pages = slide_steps(g)
    forward = [step.nodes for step in pages if step.phase == "forward"]
    backward = [step.nodes for step in pages if step.phase == "backward"]
    leaves = tuple(name for name in trace.order if trace.nodes[name].kind != "gate")
    assert forward == [leaves] + [(name,) for name in trace.order if trace.nodes[name].kind == "gate"]
    assert backward == [(trace.backward,)] + [(name,) for name in trace.backward_order]
    assert [step.number for step in pages] == list(range(1, len(pages) + 1))


def test_the_slides_reveal_values_forward_then_gradients_backward_page_by_page(tmp_path):
    g = lecture.first_circuit()
    path = g.render(tmp_path / "slides.tex", steps=True, legend=False, local_gradients=False)
    assert r"\documentclass[aspectratio=169]{beamer}" in path.read_text()
    pdf = compile_tex(path)
    assert pdf_pages(pdf) == len(slide_steps(g)) == 3 + 3  # leaves, q, f; seed, f's backward, q's backward
    expected = [
        {"-2": 1, "5": 1, "-4": 1},  # x, y, z fed
        {"-2": 1, "5": 1, "-4": 1, "3": 1},  # q = 3
        {"-2": 1, "5": 1, "-4": 1, "3": 1, "-12": 1},  # f = -12
        {"-2": 1, "5": 1, "-4": 1, "3": 1, "-12": 1, "1": 1},  # the seed
        {"-2": 1, "5": 1, "-4": 2, "3": 2, "-12": 1, "1": 1},  # f sends -4 to q, 3 to z
        {"-2": 1, "5": 1, "-4": 4, "3": 2, "-12": 1, "1": 1},  # q sends -4 to x and y
    ]
    for page, numbers in enumerate(expected, start=1):
        assert numbers_on(pdf, page) == Counter(numbers), page
    assert "Forward pass" in pdf_text(pdf, 3) and "Backward pass" in pdf_text(pdf, 4)
    assert "q sends gradients back to its inputs" in pdf_text(pdf, 6)


def test_slides_of_the_patterns_circuit_have_a_page_per_forward_and_backward_step(tmp_path):
    g = lecture.patterns_circuit()
    trace = g.trace
    gates_run = sum(trace.nodes[name].kind == "gate" for name in trace.order)
    pdf = compile_tex(g.render(tmp_path / "neuron.tex", steps=True))
    assert pdf_pages(pdf) == (1 + gates_run) + (1 + len(trace.backward_order))
    last = pdf_text(pdf, pdf_pages(pdf))
    for name, grad in (("x", -8), ("y", 6), ("z", 2), ("w", 0)):  # the docstring's gradients
        assert str(grad) in last.split(), name
    assert "-20" in last.split() and "-8" not in pdf_text(pdf, 1 + gates_run).split()  # no gradient before backward


def test_a_fan_outs_sum_appears_once_every_branch_has_sent(tmp_path):
    g = ComputationalGraph()
    x = g.input("x")
    x * x + x  # d/dx = 2x + 1 = 7 at x = 3, from three uses of x
    g.forward(x=3.0)
    g.backward()
    pdf = compile_tex(g.render(tmp_path / "fan.tex", steps=True, explain=True))
    pages = pdf_pages(pdf)
    assert pages == len(slide_steps(g)) == 6
    sums = [page for page in range(1, pages + 1) if "Σ3+3+1=7" in pdf_text(pdf, page).replace(" ", "")]
    assert sums == [6]


def test_slides_after_a_forward_only_step_through_the_forward(tmp_path):
    g = lecture.first_circuit(run=False)
    g.forward(lecture.FIRST_CIRCUIT_FEEDS)
    pdf = compile_tex(g.render(tmp_path / "forward.tex", steps=True, legend=False, local_gradients=False))
    assert pdf_pages(pdf) == 3
    assert numbers_on(pdf, 3) == Counter({"-2": 1, "5": 1, "-4": 1, "3": 1, "-12": 1})


def test_collapsed_layers_in_a_dark_theme_compile(tmp_path):
    g = ComputationalGraph()
    x = g.input("x", requires_grad=False)
    with g.scope("layer1"):
        w = g.parameter("W1", np.full((2, 3), 0.5))
        h = g.add_gate(gates.LinearGate(), x, w, g.parameter("b1", np.zeros(2)), name="Z1")
    with g.scope("loss"):
        g.add_gate(gates.SumGate(), h, name="L")
    g.forward(x=np.ones((4, 3)))
    g.backward()
    for collapse in (False, True):
        path = g.render(tmp_path / f"layers_{collapse}.tex", collapse=collapse, theme="dark", steps=True)
        assert pdf_pages(compile_tex(path)) == len(slide_steps(g))
    assert "layer1" in pdf_text(tmp_path / "layers_True.pdf")


def test_an_mlp_in_rows_compiles_with_its_dashed_copies_where_a_row_starts(tmp_path):
    model = MLP([6, 5, 4, 3], seed=0)
    rng = np.random.default_rng(0)
    model.loss(rng.random((2, 6)), [0, 2])
    model.backward()
    path = model.graph.render(tmp_path / "mlp.tex", rows=3)
    text = pdf_text(compile_tex(path))
    assert text.count("next row") == 2 and all(f"layer{index}" in text for index in (1, 2, 3))
    assert "A1" in text and "A2" in text


def test_tex_options_on_another_format_are_refused(tmp_path):
    with pytest.raises(ValueError, match="steps= and document= are options of TikZ output"):
        lecture.first_circuit().render(tmp_path / "f.svg", steps=True)
    assert not (tmp_path / "f.svg").exists()


# -- themes, legend, dpi ---------------------------------------------------------------------------------


def texts_by_class(svg: str) -> dict[str, list[ET.Element]]:
    found: dict[str, list[ET.Element]] = {}
    for text in ET.fromstring(svg.partition("?>")[2] or svg).iter(f"{SVG}text"):
        found.setdefault(text.get("class", ""), []).append(text)
    return found


def test_the_light_theme_is_the_lecture_palette_and_dark_draws_on_a_dark_background():
    g = lecture.first_circuit()
    light = texts_by_class(to_svg(g, theme="light"))
    assert {text.get("fill") for text in light["gg-value"]} == {VALUE_COLOR}
    assert {text.get("fill") for text in light["gg-grad"]} == {GRAD_COLOR}
    dark_svg = to_svg(g, theme="dark")
    dark = texts_by_class(dark_svg)
    assert {text.get("fill") for text in dark["gg-value"]} == {THEMES["dark"].value_color}
    assert {text.get("fill") for text in dark["gg-grad"]} == {THEMES["dark"].grad_color}
    assert f'fill="{THEMES["dark"].background}"' in dark_svg
    assert {text.get("fill") for text in dark["gg-name"]} <= {THEMES["dark"].ink, THEMES["dark"].note}


def test_the_print_theme_is_black_and_white_with_gradients_in_italic():
    svg = to_svg(lecture.first_circuit(), theme="print", legend=True)
    texts = texts_by_class(svg)
    assert {text.get("fill") for text in texts["gg-value"] + texts["gg-grad"]} <= {None, "#000000"}  # None: black
    assert all(text.get("font-style") is None for text in texts["gg-value"])
    assert all(text.get("font-style") == "italic" for text in texts["gg-grad"])
    assert [text.get("font-style") for text in texts["gg-legend-value"] + texts["gg-legend-grad"]] == [None, "italic"]
    colours = set(re.findall(r'(?:fill|stroke)="(#[0-9a-f]{6})"', svg))
    assert all(len(set(colour[1:][i : i + 2] for i in (0, 2, 4))) == 1 for colour in colours), colours  # greys


def test_an_unknown_theme_is_refused_by_name():
    with pytest.raises(ValueError, match="theme must be one of 'light', 'dark', 'print', got 'neon'"):
        to_dot(lecture.first_circuit(), theme="neon")


def test_render_draws_a_legend_by_default_and_legend_false_drops_it(tmp_path):
    g = lecture.first_circuit()
    svg = g.render(tmp_path / "f.svg").read_text(encoding="utf-8")
    texts = texts_by_class(svg)
    assert [t.text for t in texts["gg-legend-value"] + texts["gg-legend-grad"] + texts["gg-legend-local"]] == [
        "value (forward)",
        "gradient (backward)",
        "local gradient",
    ]
    assert 'class="node gg-legend"' in svg
    without = g.render(tmp_path / "bare.svg", legend=False).read_text(encoding="utf-8")
    assert "gg-legend" not in without and "legend" not in g.render(tmp_path / "bare.dot", legend=False).read_text()
    # what the diagram does not write, the legend does not list
    terse = texts_by_class(g.render(tmp_path / "terse.svg", grads=False, local_gradients=False).read_text())
    assert "gg-legend-value" in terse and "gg-legend-grad" not in terse and "gg-legend-local" not in terse


def test_png_dpi_scales_the_image(tmp_path):
    g = lecture.first_circuit()
    width, height = png_size(g.render(tmp_path / "default.png"))
    for dpi in (96, 192, 300):
        scaled = png_size(g.render(tmp_path / f"at{dpi}.png", dpi=dpi))
        assert abs(scaled[0] - width * dpi / 96) <= 2 and abs(scaled[1] - height * dpi / 96) <= 2, (dpi, scaled)


@pytest.mark.parametrize(("suffix", "dpi"), [(".svg", 300), (".pdf", 300), (".dot", 300), (".png", 0), (".png", "300")])
def test_a_dpi_that_cannot_apply_is_refused(tmp_path, suffix, dpi):
    with pytest.raises(ValueError, match="dpi"):
        lecture.first_circuit().render(tmp_path / f"f{suffix}", dpi=dpi)
    assert not (tmp_path / f"f{suffix}").exists()
