"""Views of a graph: they read the engine's trace of the last pass and the graph's public names, never run it.

- :mod:`graph.views.record`: the last pass as the views read it, from the
  engine's trace (``g.trace``);
- :mod:`graph.views.text`: numbers, array summaries, chain-rule lines and
  fan-out sums, written once for every view;
- :mod:`graph.views.diagram`: the lecture-style diagram (DOT, SVG, PNG, PDF);
- :mod:`graph.views.tikz`: the diagram as a TikZ picture, and beamer slides that step
  through the passes;
- :mod:`graph.views.explain`: the backward pass in words;
- :mod:`graph.views.focus`: the paths from the output back to one node, which
  ``focus=`` highlights and explains;
- :mod:`graph.views.animate`: the step-through HTML page, built from the
  files in ``graph/views/page/``;
- :mod:`graph.views.onnx_export`: the forward graph as an ONNX model.
"""
