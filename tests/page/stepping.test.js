// The page's stepping logic (graph/views/page/page.js), without a browser: node --test tests/page/
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const page = require("../../graph/views/page/page.js");

// The lecture's first circuit f = (x + y) z, named q = x + y, as animate.frames writes its steps.
function step(phase, node, badge, sums = [], edges = []) {
  return {phase, node, headline: `${phase} ${node}`, caption: `about ${node}`, badge, sums, edges};
}
const circuit = [
  step("forward", "x", "= -2"),
  step("forward", "y", "= 5"),
  step("forward", "z", "= -4"),
  step("forward", "q", "= 3", [], [{source: "x", target: "q"}, {source: "y", target: "q"}]),
  step("forward", "f", "= -12", [], [{source: "q", target: "f"}, {source: "z", target: "f"}]),
  step("backward", "f", "dL/df = 1", [], [{source: "q", target: "f"}, {source: "z", target: "f"}]),
  step("backward", "z", "dL/dz = 3", [], [{source: "z", target: "f"}]),
  step("backward", "q", "dL/dq = -4", [], [{source: "x", target: "q"}, {source: "y", target: "q"}]),
  step("backward", "x", "dL/dx = -4", [], [{source: "x", target: "q"}]),
  step("backward", "y", "dL/dy = -4", [], [{source: "y", target: "q"}]),
];
const {nodes, edges} = require("./lecture.js");

function byEdge(seen) {
  return Object.fromEntries(seen.edges.map((edge) => [`${edge.source}->${edge.target}`, edge]));
}

test("a node appears at its forward step and is graded after its backward step", () => {
  const planned = page.plan(circuit, nodes, edges);
  assert.deepEqual(
    planned.nodes.map((node) => [node.name, node.shown, node.graded]),
    [["x", 0, 8], ["y", 1, 9], ["z", 2, 6], ["q", 3, 7], ["f", 4, 5]],
  );
  const first = page.visibility(planned, 0);
  assert.deepEqual(first.nodes.filter((node) => !node.pending).map((node) => node.name), ["x"]);
  const atX = page.visibility(planned, 8);
  assert.deepEqual(atX.nodes.filter((node) => node.graded).map((node) => node.name), ["z", "q", "f"]);
});

test("an edge and its value appear with its source's forward step, its gradient with its target's backward step", () => {
  const planned = page.plan(circuit, nodes, edges);
  const at = (index) => byEdge(page.visibility(planned, index));
  assert.deepEqual(at(0)["x->q"], {
    source: "x", target: "q", pending: false,
    value: {pending: false, fresh: true}, gradient: {pending: true, fresh: false},
  });
  assert.equal(at(0)["y->q"].pending, true);
  assert.equal(at(3)["q->f"].value.fresh, true);
  // f's backward step (5) sends its gradient along q -> f and z -> f, and reveals the seed on f's arrow
  for (const key of ["q->f", "z->f", "f->null"]) {
    assert.deepEqual(at(5)[key].gradient, {pending: false, fresh: true}, key);
  }
  assert.equal(at(5)["x->q"].gradient.pending, true);
  assert.deepEqual(at(7)["x->q"].gradient, {pending: false, fresh: true});  // q's step sends to x and y
  assert.equal(at(9)["x->q"].gradient.fresh, false);
  assert.ok(Object.values(at(9)).every((edge) => !edge.gradient.pending && !edge.value.pending));
});

test("what a step never reaches stays hidden, and an edge from a node without a forward step shows last", () => {
  const forwardOnly = circuit.slice(0, 5);
  const planned = page.plan(forwardOnly, nodes, edges);
  const last = byEdge(page.visibility(planned, 4));
  assert.ok(Object.values(last).every((edge) => edge.gradient.pending));
  const planned2 = page.plan(circuit, [...nodes, "unused"], [...edges, {source: "const_1", target: "f"}]);
  assert.equal(planned2.nodes.at(-1).shown, circuit.length);
  assert.equal(planned2.edges.at(-1).shown, 4);  // the last forward step: a constant is drawn with the rest
});

test("the seed on an output's arrow waits for the backward pass to start at that output", () => {
  const twoOutputs = [...edges, {source: "q", target: null}];
  const planned = page.plan(circuit, nodes, twoOutputs);
  assert.equal(planned.edges.at(-1).gradient, circuit.length);  // q is not where backward started
  assert.equal(planned.edges.at(-2).gradient, 5);
});

test("running sums at a fan-out are written on the fan-out node, then the step's own badge", () => {
  const fanOut = [
    step("forward", "x", "= 2"),
    step("backward", "xy", "dL/dxy = 1", [{node: "x", text: "Σ 3 = 3 (so far: 1 of 2)"}], [{source: "x", target: "xy"}]),
    step("backward", "x1", "dL/dx1 = 1", [{node: "x", text: "Σ 3 + 2 = 5 (all: 2 of 2)"}], [{source: "x", target: "x1"}]),
    step("backward", "x", "dL/dx = 5"),
  ];
  assert.deepEqual(page.moment(fanOut, 1).badges, [
    {node: "x", text: "Σ 3 = 3 (so far: 1 of 2)", kind: "sum"},
    {node: "xy", text: "dL/dxy = 1", kind: "backward"},
  ]);
  assert.deepEqual(page.moment(fanOut, 2).badges.map((badge) => badge.text),
    ["Σ 3 + 2 = 5 (all: 2 of 2)", "dL/dx1 = 1"]);
  assert.deepEqual(page.moment(fanOut, 3).badges, [{node: "x", text: "dL/dx = 5", kind: "backward"}]);
});

test("a moment names its step, counts from one and lights the step's edges", () => {
  const now = page.moment(circuit, 3);
  assert.equal(now.phase, "forward");
  assert.equal(now.node, "q");
  assert.equal(now.counter, "step 4 of 10");
  assert.equal(now.caption, "about q");
  assert.deepEqual(now.lit, [page.edgeKey("x", "q"), page.edgeKey("y", "q")]);
  assert.equal(page.edgeKey("f", null), page.edgeKey("f", undefined));
  assert.notEqual(page.edgeKey("a", "b->c"), page.edgeKey("a->b", "c"));  // names with arrows stay apart
});

test("steps stay in range, and playing stops at the end and starts over from there", () => {
  assert.equal(page.clamp(-3, 10), 0);
  assert.equal(page.clamp(12, 10), 9);
  assert.equal(page.clamp(4.7, 10), 4);
  assert.equal(page.clamp("6", 10), 6);
  assert.equal(page.clamp(Number.NaN, 10), 0);
  assert.equal(page.moment(circuit, 99).index, 9);
  assert.equal(page.following(3, 10), 4);
  assert.equal(page.following(9, 10), null);
  assert.equal(page.replayFrom(9, 10), 0);
  assert.equal(page.replayFrom(4, 10), 4);
});

test("a badge goes under its node unless that covers a label, and stays inside the drawing", () => {
  const box = {x: 100, y: 100, width: 40, height: 20};
  const size = {width: 30, height: 10};
  const bounds = {x: 0, y: 0, width: 400, height: 300};
  const under = page.placeBadge(box, size, bounds, []);
  assert.deepEqual(under, {x: 105, y: 124, width: 30, height: 10});
  const blocked = page.placeBadge(box, size, bounds, [{x: 90, y: 122, width: 60, height: 14}]);
  assert.deepEqual(blocked, {x: 105, y: 86, width: 30, height: 10});  // over the node instead
  const atEdge = page.placeBadge({x: 0, y: 100, width: 10, height: 20}, size, bounds, []);
  assert.equal(atEdge.x, 0);  // pushed right, into the drawing
  const atBottom = page.placeBadge({x: 100, y: 280, width: 40, height: 20}, size, bounds, []);
  assert.ok(atBottom.y + atBottom.height <= bounds.height);
});
