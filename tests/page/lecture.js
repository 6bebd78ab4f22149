// The lecture's first circuit f = (x + y) z, named q = x + y, in the shape animate.frames writes its steps:
// shared by the page's Node tests (not a test file itself: node --test runs *.test.js).
"use strict";

function step(phase, node, badge, edges = [], answer = null) {
  return {phase, node, headline: `${phase} ${node}`, caption: `about ${node}`, badge, sums: [], edges, answer};
}
const xq = {source: "x", target: "q"}, yq = {source: "y", target: "q"};
const qf = {source: "q", target: "f"}, zf = {source: "z", target: "f"};
// Its nodes in creation order and its edges, the last the output's arrow.
const nodes = ["x", "y", "z", "q", "f"];
const edges = [xq, yq, qf, zf, {source: "f", target: null}];

module.exports = {step, xq, yq, qf, zf, nodes, edges};
