// focus= and the tooltips in graph/views/page/page.js, without a browser: node --test tests/page/
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const page = require("../../graph/views/page/page.js");

const {step, xq, yq, qf, zf, nodes, edges} = require("./lecture.js");
const circuit = [
  step("forward", "x", "= -2"),
  step("forward", "y", "= 5"),
  step("forward", "z", "= -4"),
  step("forward", "q", "= 3", [xq, yq]),
  step("forward", "f", "= -12", [qf, zf]),
  step("backward", "f", "dL/df = 1", [qf, zf]),
  step("backward", "z", "dL/dz = 3", [zf], 3),
  step("backward", "q", "dL/dq = -4", [xq, yq], -4),
  step("backward", "x", "dL/dx = -4", [xq], -4),
  step("backward", "y", "dL/dy = -4", [yq], -4),
];
// The page data's focus for focus="x", as animate.py writes it.
const focusX = {node: "x", outputs: ["f"], nodes: ["f", "q", "x"], edges: [qf, xq]};

test("the paths from f back to x hold x, q, f, their two edges and the output's arrow", () => {
  const focused = page.focusing(focusX, nodes, edges);
  assert.deepEqual(focused.nodes, {x: true, y: false, z: false, q: true, f: true});
  assert.deepEqual(
    edges.map((edge) => focused.edges[page.edgeKey(edge.source, edge.target)]),
    [true, false, true, false, true],
  );
});

test("focusing on z lights z's edge and the arrow, not q's inputs", () => {
  const focused = page.focusing({node: "z", outputs: ["f"], nodes: ["f", "z"], edges: [zf]}, nodes, edges);
  assert.deepEqual(Object.keys(focused.nodes).filter((name) => focused.nodes[name]), ["z", "f"]);
  assert.deepEqual(Object.values(focused.edges), [false, false, false, true, true]);
});

test("without a focus nothing is marked", () => {
  assert.equal(page.focusing(null, nodes, edges), null);
  assert.equal(page.focusing(undefined, nodes, edges), null);
});

// Tooltips as animate.py sends them (before, computed) and as the diagram draws them (with the gradient).
const tips = {
  q: {node: "q", before: "q: AddGate (+)", computed: "q: AddGate (+)\nvalue 3"},
  x: {node: "x", before: "x: input", computed: "x: input\nvalue -2"},
};
const graded = {q: "q: AddGate (+)\nvalue 3\ngrad -4", x: "x: input\nvalue -2\ngrad -4"};

function tipsAt(index) {
  const seen = page.visibility(page.plan(circuit, nodes, edges), index);
  const byName = Object.fromEntries(seen.nodes.map((node) => [node.name, node]));
  return ["q", "x"].map((name) => page.tooltip(tips[name], graded[name], byName[name]));
}

test("a tooltip says no value before the node's forward step", () => {
  assert.deepEqual(tipsAt(0), ["q: AddGate (+)", "x: input\nvalue -2"]);
  assert.deepEqual(tipsAt(2), ["q: AddGate (+)", "x: input\nvalue -2"]);
});

test("a tooltip gives the value from the forward step and the gradient from the backward step, not before", () => {
  assert.deepEqual(tipsAt(3), ["q: AddGate (+)\nvalue 3", "x: input\nvalue -2"]);
  assert.deepEqual(tipsAt(6), ["q: AddGate (+)\nvalue 3", "x: input\nvalue -2"]);
  assert.deepEqual(tipsAt(7), ["q: AddGate (+)\nvalue 3\ngrad -4", "x: input\nvalue -2"]);  // q's backward step
  assert.deepEqual(tipsAt(8), ["q: AddGate (+)\nvalue 3\ngrad -4", "x: input\nvalue -2\ngrad -4"]);
});

test("no step's tooltips tell a gradient before that node's backward step", () => {
  const planned = page.plan(circuit, nodes, edges);
  circuit.forEach((_, index) => {
    page.visibility(planned, index).nodes.forEach((node) => {
      const told = page.tooltip({before: "b", computed: "c"}, "g", node);
      const backward = circuit.findIndex((s) => s.phase === "backward" && s.node === node.name);
      const forward = circuit.findIndex((s) => s.phase === "forward" && s.node === node.name);
      assert.equal(told, index < forward ? "b" : index < backward ? "c" : "g", `${node.name} at step ${index}`);
    });
  });
});
