"""Views of a graph: they read the last pass and the graph's public names, and never run it.

- :mod:`graph.views.text`: numbers, array summaries, chain-rule lines and
  fan-out sums, written once for every view;
- :mod:`graph.views.diagram`: the lecture-style diagram (DOT, SVG, PNG, PDF);
- :mod:`graph.views.explain`: the backward pass in words;
- :mod:`graph.views.animate`: the step-through HTML page, built from the
  files in ``graph/views/page/``;
- :mod:`graph.views.onnx_export`: the forward graph as an ONNX model.
"""
