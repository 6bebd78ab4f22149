// The classroom modes' logic in graph/views/page/page.js, without a browser: node --test tests/page/
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const page = require("../../graph/views/page/page.js");

const {step, xq, yq, qf, zf, nodes, edges} = require("./lecture.js");
// f = (x + y) z with the leaves x, y, z skipped in the forward pass.
const skipped = [
  step("forward", "q", "= 3", [xq, yq]),
  step("forward", "f", "= -12", [qf, zf]),
  step("backward", "f", "dL/df = 1", [qf, zf]),
  step("backward", "z", "dL/dz = 3", [zf], 3),
  step("backward", "q", "dL/dq = -4", [xq, yq], -4),
  step("backward", "x", "dL/dx = -4", [xq], -4),
  step("backward", "y", "dL/dy = -4", [yq], -4),
];

test("a skipped leaf appears with the first forward step that reads it", () => {
  const planned = page.plan(skipped, nodes, edges);
  assert.deepEqual(planned.nodes.map((node) => [node.name, node.shown]), [["x", 0], ["y", 0], ["z", 1], ["q", 0], ["f", 1]]);
  assert.deepEqual(planned.edges.map((edge) => edge.shown), [0, 0, 0, 1, 1]);
});

test("in a quiz an edge's gradient appears when the node it reaches receives it", () => {
  const plain = page.plan(skipped, nodes, edges);
  const quiz = page.plan(skipped, nodes, edges, {quiz: true});
  assert.deepEqual(plain.edges.map((edge) => edge.gradient), [4, 4, 2, 2, 2]);
  assert.deepEqual(quiz.edges.map((edge) => edge.gradient), [5, 6, 4, 3, 2]);
});

test("while asking, the step's own gradient is not written and the headline asks for it", () => {
  const asked = page.moment(skipped, 4, true);
  assert.deepEqual(asked.badges, []);
  assert.equal(asked.headline, "What gradient does q receive? dL/dq = ?");
  const told = page.moment(skipped, 4, false);
  assert.deepEqual(told.badges, [{node: "q", text: "dL/dq = -4", kind: "backward"}]);
  assert.equal(told.headline, "backward q");
});

test("questions are asked at backward steps with a number for an answer", () => {
  assert.deepEqual(skipped.map(page.asks), [false, false, false, true, true, true, true]);
});

test("an answer is right within a relative 1e-3 or an absolute 1e-6", () => {
  assert.equal(page.judge("-4", -4).right, true);
  assert.equal(page.judge(" -4.003 ", -4).right, true);
  assert.equal(page.judge("-4.005", -4).right, false);
  assert.equal(page.judge("\u22124", -4).right, true);  // a typographic minus
  assert.equal(page.judge("4", -4).right, false);
  assert.equal(page.judge("1e-7", 0).right, true);
  assert.equal(page.judge("1e-5", 0).right, false);
  assert.deepEqual(page.judge("", 1), {valid: false, right: false, given: null});
  assert.equal(page.judge("four", -4).valid, false);
  assert.equal(page.judge("Infinity", 1).valid, false);
  assert.equal(page.judge("0.25", 0.25).given, 0.25);
});

test("the score counts the right answers among those given", () => {
  assert.equal(page.score({}), "0 of 0 right");
  assert.equal(page.score({3: {right: true}, 4: {right: false}, 6: {right: true}}), "2 of 3 right");
});

test("the address names a step counted from 1, kept in range", () => {
  assert.equal(page.stepFromAddress("#step=12", 20), 11);
  assert.equal(page.stepFromAddress("#step=1", 20), 0);
  assert.equal(page.stepFromAddress("#step=99", 20), 19);
  assert.equal(page.stepFromAddress("#step=0", 20), 0);
  assert.equal(page.stepFromAddress("#a=1&step=3", 20), 2);
  assert.equal(page.stepFromAddress("", 20), null);
  assert.equal(page.stepFromAddress("#step=x", 20), null);
  assert.equal(page.address(11), "#step=12");
  assert.equal(page.stepFromAddress(page.address(7), 20), 7);
});

test("zoom scales by a quarter within limits and fit shows the whole drawing", () => {
  const natural = {width: 400, height: 200};
  assert.equal(page.zoomed(400, 1, natural, null), 500);
  assert.equal(page.zoomed(500, -1, natural, null), 400);
  assert.equal(page.zoomed(3200, 1, natural, null), 3200);  // at most 8 times
  assert.equal(page.zoomed(40, -1, natural, null), 40);  // at least a tenth
  assert.equal(page.zoomed(123, 0, natural, {width: 1000, height: 300}), 600);  // the height limits
  assert.equal(page.zoomed(123, 0, natural, {width: 200, height: 300}), 200);  // the width limits
});
