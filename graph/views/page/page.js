// The animation page's script. graph/views/animate.py inlines it into the page, after the page's data
// (the JSON element #page-data, its keys described in animate.py) and the diagram (an SVG whose classes
// and data- attributes graph/views/diagram.py documents).
//
// The stepping logic (which step shows what, what each step lights and writes) is in plain functions with
// no document; Node's test runner tests them (tests/page/). The same file runs in the browser, where it
// starts the page, and in Node, where require() returns those functions.
(function (root, factory) {
  "use strict";
  var page = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = page;
  } else {
    page.start(root.document, root);
  }
})(typeof window !== "undefined" ? window : globalThis, function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var XLINKNS = "http://www.w3.org/1999/xlink";

  // -- stepping: no document here ---------------------------------------------------------------------

  /** A step number kept inside 0 .. count - 1 (whole numbers only). */
  function clamp(index, count) {
    return Math.max(0, Math.min(count - 1, Math.trunc(Number(index)) || 0));
  }

  /** The key of a drawn edge: its source, and its target (null for an output's arrow to nowhere). */
  function edgeKey(source, target) {
    return JSON.stringify([source, target === undefined ? null : target]);
  }

  /**
   * When each part of the diagram appears. Steps are the page data's steps (phase, node...); nodes the
   * drawn nodes' names; edges the drawn edges as {source, target}, target null for an output's arrow.
   *
   * A node appears at its forward step and counts as graded after its backward step; an edge (and the
   * value written on it) appears with its source's forward step, its gradient with its target's backward
   * step; the gradient on an output's arrow (the seed) appears with the first backward step when that
   * step is the output's own. Whatever a step never reaches appears "never": at steps.length.
   * A node with no forward step of its own (a leaf the page skips) appears with the first forward step
   * that reads it. With ``options.quiz``, an edge's gradient appears with its source's backward step
   * instead, when the node it reaches receives it (the step whose question asks for it).
   */
  function plan(steps, nodes, edges, options) {
    var quiz = Boolean(options && options.quiz);
    var forward = {}, backward = {}, never = steps.length;
    var lastForward = -1, firstBackward = never;
    steps.forEach(function (step, index) {
      if (step.phase === "forward") {
        if (!(step.node in forward)) forward[step.node] = index;
        step.edges.forEach(function (edge) {
          if (!(edge.source in forward)) forward[edge.source] = index;
        });
        lastForward = Math.max(lastForward, index);
      } else {
        if (!(step.node in backward)) backward[step.node] = index;
        firstBackward = Math.min(firstBackward, index);
      }
    });
    var seeded = firstBackward < never ? steps[firstBackward].node : null;
    return {
      count: steps.length,
      nodes: nodes.map(function (name) {
        return {
          name: name,
          shown: name in forward ? forward[name] : never,
          graded: name in backward ? backward[name] : never,
        };
      }),
      edges: edges.map(function (edge) {
        var target = edge.target === undefined ? null : edge.target;
        var gradient = never;
        if (target !== null && quiz && edge.source in backward) gradient = backward[edge.source];
        else if (target !== null) gradient = target in backward ? backward[target] : never;
        else if (edge.source === seeded) gradient = firstBackward;
        return {
          source: edge.source,
          target: target,
          shown: edge.source in forward ? forward[edge.source] : lastForward,
          gradient: gradient,
        };
      }),
    };
  }

  /**
   * What the diagram shows at step ``index`` of a plan: for each node whether it is still pending (not
   * computed yet), whether it is graded (its backward step is past) and whether its gradient has been
   * told (at its backward step or later); for each edge whether it is pending, and for the value and the
   * gradient written on it whether each is pending (hidden) or fresh (new at this step).
   */
  function visibility(planned, index) {
    return {
      nodes: planned.nodes.map(function (node) {
        return {name: node.name, pending: node.shown > index, graded: node.graded < index, told: node.graded <= index};
      }),
      edges: planned.edges.map(function (edge) {
        return {
          source: edge.source,
          target: edge.target,
          pending: edge.shown > index,
          value: {pending: edge.shown > index, fresh: edge.shown === index},
          gradient: {pending: edge.gradient > index, fresh: edge.gradient === index},
        };
      }),
    };
  }

  /**
   * What step ``index`` says and highlights: its phase, node and texts, the badges to write (the running
   * sums at fan-out nodes this step sends to, then the step's own value or gradient on its node) and the
   * edges to light. While ``asking`` (the quiz's question at this step is open), the step's own gradient
   * is not written: the headline asks for it and the caption waits for the answer.
   */
  function moment(steps, index, asking) {
    index = clamp(index, steps.length);
    var step = steps[index];
    var badges = step.sums.map(function (sum) { return {node: sum.node, text: sum.text, kind: "sum"}; });
    if (!asking) badges.push({node: step.node, text: step.badge, kind: step.phase});
    var name = step.badge.slice(0, step.badge.indexOf(" = "));  // the badge reads "dL/dq = -4"
    return {
      index: index,
      phase: step.phase,
      node: step.node,
      headline: asking ? "What gradient does " + step.node + " receive? " + name + " = ?" : step.headline,
      caption: asking ? "Work it out from the gradients already shown and the local gradients; then check." :
        step.caption,
      counter: "step " + (index + 1) + " of " + steps.length,
      badges: badges,
      lit: step.edges.map(function (edge) { return edgeKey(edge.source, edge.target); }),
    };
  }

  /**
   * What hovering over a node says at a step where it is ``seen`` (a node of ``visibility``): ``tip``'s
   * text ``before`` its forward step, ``computed`` after it, and ``graded`` (the diagram's own tooltip,
   * with the gradient) once its gradient has been told. Never ahead of the step: no value before the
   * node's forward step, no gradient before its backward step.
   */
  function tooltip(tip, graded, seen) {
    if (seen.pending) return tip.before;
    return seen.told ? graded : tip.computed;
  }

  /**
   * Which drawn parts lie on the paths ``focus`` (the page data's focus: node, outputs, nodes, edges)
   * highlights: {nodes: {name: true or false}, edges: {edgeKey: true or false}}; an output's arrow to
   * nowhere is on them where its node is one of the outputs. Null without a focus.
   */
  function focusing(focus, nodes, edges) {
    if (!focus) return null;
    var onNodes = {}, onEdges = {}, result = {nodes: {}, edges: {}};
    focus.nodes.forEach(function (name) { onNodes[name] = true; });
    focus.edges.forEach(function (edge) { onEdges[edgeKey(edge.source, edge.target)] = true; });
    nodes.forEach(function (name) { result.nodes[name] = name in onNodes; });
    edges.forEach(function (edge) {
      var target = edge.target === undefined ? null : edge.target;
      var key = edgeKey(edge.source, target);
      result.edges[key] = target === null ? focus.outputs.indexOf(edge.source) >= 0 : key in onEdges;
    });
    return result;
  }

  /** Whether the quiz asks a question at ``step`` (a backward step whose gradient has one element). */
  function asks(step) {
    return step.phase === "backward" && typeof step.answer === "number";
  }

  /**
   * An answer typed for ``expected``: {valid: false} where ``text`` is no number, else whether it is
   * right within a relative error of 1e-3 or an absolute error of 1e-6.
   */
  function judge(text, expected) {
    var cleaned = String(text).trim().replace(/\u2212/g, "-");  // a typographic minus counts as a minus
    var given = cleaned === "" ? NaN : Number(cleaned);
    if (!Number.isFinite(given)) return {valid: false, right: false, given: null};
    var error = Math.abs(given - expected);
    return {valid: true, right: error <= 1e-6 || error <= 1e-3 * Math.abs(expected), given: given};
  }

  /** The score line of the answers so far, by step: "3 of 4 right". */
  function score(answers) {
    var judged = Object.keys(answers).map(function (key) { return answers[key]; });
    var right = judged.filter(function (answer) { return answer.right; }).length;
    return right + " of " + judged.length + " right";
  }

  /** The step an address names, "#step=12" meaning the twelfth (index 11), kept in range; null if none. */
  function stepFromAddress(hash, count) {
    var found = /(?:^#|&)step=(\d+)(?:&|$)/.exec(String(hash));
    return found ? clamp(Number(found[1]) - 1, count) : null;
  }

  /** The address fragment of step ``index``: "#step=" and the step counted from 1. */
  function address(index) {
    return "#step=" + (index + 1);
  }

  /**
   * The drawing's width after a zoom: ``direction`` +1 in, -1 out (by a quarter), 0 to fit the whole
   * drawing ({width, height}, in CSS pixels at its own size) inside ``room`` ({width, height}). Kept
   * between a tenth and eight times its own size.
   */
  function zoomed(width, direction, natural, room) {
    var wanted = direction === 0 ?
      natural.width * Math.min(room.width / natural.width, room.height / natural.height) :
      width * Math.pow(1.25, direction);
    return Math.max(natural.width * 0.1, Math.min(natural.width * 8, wanted));
  }

  /** The step that playing shows after ``index``, or null where playing stops (at the last step). */
  function following(index, count) {
    return index >= count - 1 ? null : index + 1;
  }

  /** Where playing starts from ``index``: over from the first step when at the last one. */
  function replayFrom(index, count) {
    return index >= count - 1 ? 0 : index;
  }

  function overlap(a, b) {
    var across = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
    var down = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
    return across > 0 && down > 0 ? across * down : 0;
  }

  /**
   * Where a badge of ``size`` ({width, height}) goes beside a node's ``box`` ({x, y, width, height}): under
   * it, over it, beside it, then a row further out, whichever covers the least of the ``obstacles`` (boxes
   * of the drawing's visible labels and shapes) and stays inside ``bounds``; ties go to the nearer place.
   * Returns the badge's box.
   */
  function placeBadge(box, size, bounds, obstacles) {
    var width = size.width, height = size.height;
    var middle = box.x + box.width / 2, centre = box.y + box.height / 2;
    var places = [];
    [0, 1].forEach(function (row) {
      var below = box.y + box.height + 4 + height / 2 + row * (height + 2);
      var above = box.y - 4 - height / 2 - row * (height + 2);
      [0, width / 2, -width / 2].forEach(function (shift) {
        places.push([middle + shift, below], [middle + shift, above]);
      });
      if (row === 0) places.push([box.x + box.width + 4 + width / 2, centre], [box.x - 4 - width / 2, centre]);
    });
    var best = null;
    places.forEach(function (place, rank) {
      var x = Math.max(bounds.x + width / 2, Math.min(bounds.x + bounds.width - width / 2, place[0]));
      var area = {x: x - width / 2, y: place[1] - height / 2, width: width, height: height};
      var outside = area.y < bounds.y || area.y + height > bounds.y + bounds.height;
      var cost = rank * 0.001 + (outside ? 5 : 0);
      obstacles.forEach(function (obstacle) { cost += overlap(area, obstacle) / (width * height); });
      if (best === null || cost < best.cost) best = {cost: cost, area: area};
    });
    return best.area;
  }

  // -- the page -------------------------------------------------------------------------------------------

  /** Start the page in ``document``: read its data and diagram, wire the controls, show the first step. */
  function start(document, window) {
    var data = JSON.parse(document.getElementById("page-data").textContent);
    var steps = data.steps, settings = data.settings;
    var stage = document.getElementById("stage");
    var svg = stage.querySelector("svg");
    var slider = document.getElementById("slider");
    var playButton = document.getElementById("play");
    var speed = document.getElementById("speed");
    var rootStyle = document.documentElement.style;
    rootStyle.setProperty("--value", settings.colors.value);
    rootStyle.setProperty("--grad", settings.colors.gradient);
    rootStyle.setProperty("--focus", settings.colors.focus);
    document.title = data.title;
    document.getElementById("title").textContent = data.title;
    document.getElementById("summary").textContent = data.summary;
    slider.max = String(steps.length - 1);

    // The diagram's parts, found by the classes and data- attributes the diagram documents.
    var nodeElements = {};
    svg.querySelectorAll(".gg-node[data-node]").forEach(function (element) {
      nodeElements[element.dataset.node] = element;
    });
    var edgeElements = {}, edges = [];
    svg.querySelectorAll(".gg-edge[data-source]").forEach(function (element) {
      var target = element.dataset.target === undefined ? null : element.dataset.target;
      var key = edgeKey(element.dataset.source, target);
      if (!(key in edgeElements)) {
        edgeElements[key] = [];
        edges.push({source: element.dataset.source, target: target});
      }
      edgeElements[key].push(element);
    });
    // Each node's tooltip, told no further than the step shown: the data's texts before the node's
    // gradient, the diagram's own (which holds the gradient) after.
    var tips = {}, links = {}, gradedTips = {};
    (data.tooltips || []).forEach(function (tip) { tips[tip.node] = tip; });
    Object.keys(nodeElements).forEach(function (name) {
      var link = nodeElements[name].querySelector("a");
      if (link && name in tips) {
        links[name] = link;
        gradedTips[name] = link.getAttributeNS(XLINKNS, "title");
      }
    });
    // focus=: the parts on the paths from the output to the focused node stand out, the rest fade.
    var focused = focusing(data.focus, Object.keys(nodeElements), edges);
    if (focused) {
      Object.keys(focused.nodes).forEach(function (name) {
        nodeElements[name].classList.add(focused.nodes[name] ? "focus-on" : "focus-off");
      });
      Object.keys(focused.edges).forEach(function (key) {
        edgeElements[key].forEach(function (element) {
          element.classList.add(focused.edges[key] ? "focus-on" : "focus-off");
        });
      });
      document.body.dataset.focus = data.focus.node;
    }
    var quiz = Boolean(settings.quiz);
    var planned = plan(steps, Object.keys(nodeElements), edges, {quiz: quiz});
    var answers = {}, asking = false;  // the quiz's answers by step; whether this step's question is open
    var quizBox = document.getElementById("quiz"), answerBox = document.getElementById("answer");
    var verdict = document.getElementById("verdict");
    quizBox.hidden = !quiz;

    // Room above and below the drawing for the badges written beside the nodes at its edges.
    var viewBox = svg.getAttribute("viewBox").split(/[\s,]+/).map(Number), margin = settings.badge_margin;
    svg.setAttribute("viewBox", [0, -margin, viewBox[2], viewBox[3] + 2 * margin].join(" "));
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    var natural = viewBox[2] * 4 / 3;  // points to CSS pixels
    var naturalHeight = (viewBox[3] + 2 * margin) * 4 / 3;
    var drawing = svg.querySelector("g.graph").getBBox();
    var bounds = {x: drawing.x, y: drawing.y - margin, width: drawing.width, height: drawing.height + 2 * margin};
    var current = 0, timer = null, obstacles = null;

    // As wide as the stage, like a slide, but never so small that labels are unreadable
    // (large graphs scroll) nor more than 1.6 times the drawing's own size.
    // Until a zoom button is used; then the reader's size stays.
    var zoomedByHand = false;
    function fit() {
      if (zoomedByHand) return;
      var room = stage.clientWidth - 16;
      svg.style.width = Math.max(natural * 0.55, Math.min(room, natural * 1.6)) + "px";
    }

    /** Zoom in (+1), out (-1), or fit the whole drawing in the stage (0). */
    function zoom(direction) {
      zoomedByHand = true;
      var room = {width: stage.clientWidth - 16, height: stage.clientHeight - 16};
      var width = zoomed(svg.getBoundingClientRect().width, direction, {width: natural, height: naturalHeight}, room);
      svg.style.width = width + "px";
    }

    function visibleObstacles() {
      if (obstacles === null) {
        obstacles = [];
        svg.querySelectorAll(".gg-node text, .gg-node ellipse, .gg-node polygon").forEach(function (element) {
          var box = element.getBBox();
          if (box.width > 0 && box.height > 0) {
            var padded = {x: box.x - 3, y: box.y - 2, width: box.width + 6, height: box.height + 4};
            obstacles.push({element: element, box: padded});
          }
        });
      }
      return obstacles.filter(function (obstacle) { return !obstacle.element.classList.contains("pending"); })
        .map(function (obstacle) { return obstacle.box; });
    }

    function writeBadge(node, text, kind) {
      if (!node || !text) return;
      var box = node.getBBox();  // before the badge joins the node's group
      var group = document.createElementNS(SVGNS, "g");
      group.setAttribute("class", "badge " + kind);
      var rect = document.createElementNS(SVGNS, "rect");
      var label = document.createElementNS(SVGNS, "text");
      label.setAttribute("text-anchor", "middle");
      label.textContent = text;
      group.appendChild(rect);
      group.appendChild(label);
      node.appendChild(group);
      var size = label.getBBox();
      var area = placeBadge(box, {width: size.width + 10, height: size.height + 4}, bounds, visibleObstacles());
      rect.setAttribute("x", area.x);
      rect.setAttribute("y", area.y);
      rect.setAttribute("width", area.width);
      rect.setAttribute("height", area.height);
      rect.setAttribute("rx", 4);
      label.setAttribute("x", area.x + area.width / 2);
      label.setAttribute("y", area.y + 2 - size.y);
    }

    function mark(elements, selector, state) {
      elements.forEach(function (element) {
        element.querySelectorAll(selector).forEach(function (text) {
          text.classList.toggle("pending", state.pending);
          text.classList.toggle("fresh", state.fresh);
        });
      });
    }

    function show(index) {
      index = clamp(index, steps.length);
      asking = quiz && asks(steps[index]) && !(index in answers);
      var now = moment(steps, index, asking);
      current = now.index;
      var seen = visibility(planned, current);
      if (asking) {  // what this step reveals waits for the answer
        seen.edges.forEach(function (edge) { if (edge.gradient.fresh) edge.gradient.pending = true; });
      }
      seen.nodes.forEach(function (node) {
        var element = nodeElements[node.name];
        element.classList.toggle("pending", node.pending);
        element.classList.toggle("graded", node.graded);
        if (node.name in links) {
          if (asking && node.name === now.node) node.told = false;  // the question asks for it
          links[node.name].setAttributeNS(XLINKNS, "xlink:title", tooltip(tips[node.name], gradedTips[node.name], node));
        }
      });
      seen.edges.forEach(function (edge) {
        var elements = edgeElements[edgeKey(edge.source, edge.target)];
        elements.forEach(function (element) { element.classList.toggle("pending", edge.pending); });
        mark(elements, "text.gg-value", edge.value);
        mark(elements, "text.gg-grad, text.gg-chain", edge.gradient);
      });
      svg.querySelectorAll(".current, .lit").forEach(function (element) {
        element.classList.remove("current", "lit", "forward", "backward");
      });
      svg.querySelectorAll("g.badge").forEach(function (element) { element.remove(); });
      var node = nodeElements[now.node];
      node.classList.add("current", now.phase);
      now.lit.forEach(function (key) {
        (edgeElements[key] || []).forEach(function (element) { element.classList.add("lit", now.phase); });
      });
      now.badges.forEach(function (badge) { writeBadge(nodeElements[badge.node], badge.text, badge.kind); });
      document.getElementById("phase").textContent = now.phase;
      document.getElementById("phase").className = now.phase;
      document.getElementById("sentence").textContent = now.headline;
      document.getElementById("detail").textContent = now.caption;
      document.getElementById("counter").textContent = now.counter;
      slider.value = current;
      document.body.dataset.step = current;
      document.body.dataset.asking = String(asking);
      if (quiz) showQuiz();
      if (window.history && window.history.replaceState && window.location.hash !== address(current)) {
        window.history.replaceState(null, "", address(current));
      }
      if (node.scrollIntoView) node.scrollIntoView({block: "nearest", inline: "nearest"});
    }

    function showQuiz() {
      var answer = answers[current];
      answerBox.disabled = !asking;
      document.getElementById("check").disabled = !asking;
      if (asking) {
        answerBox.value = "";
        verdict.textContent = "";
        verdict.className = "";
      } else if (answer) {
        verdict.textContent = (answer.right ? "Right. " : "Not quite: you said " + answer.given + ". ") +
          steps[current].reveal;
        verdict.className = answer.right ? "right" : "wrong";
      } else {
        verdict.textContent = steps[current].phase === "forward" ? "" : steps[current].reveal;
        verdict.className = "";
      }
      document.getElementById("score").textContent = score(answers);
    }

    function check() {
      if (!asking) return;
      var judged = judge(answerBox.value, steps[current].answer);
      if (!judged.valid) {
        verdict.textContent = "Type a number, like -4 or 0.25.";
        verdict.className = "wrong";
        return;
      }
      answers[current] = judged;
      show(current);
    }

    function pause() {
      if (timer !== null) window.clearInterval(timer);
      timer = null;
      playButton.querySelector("span").textContent = "play";
      document.body.dataset.playing = "false";
    }

    function play() {
      var from = replayFrom(current, steps.length);
      if (from !== current) show(from);
      pause();
      timer = window.setInterval(function () {
        var next = following(current, steps.length);
        if (next === null) pause(); else show(next);
        if (asking) { pause(); answerBox.focus(); }  // a question waits for its answer
      }, settings.interval_ms / Number(speed.value));
      playButton.querySelector("span").textContent = "pause";
      document.body.dataset.playing = "true";
    }

    function toggle() { if (timer === null) play(); else pause(); }
    function step(delta) { pause(); show(current + delta); }

    document.getElementById("first").addEventListener("click", function () { pause(); show(0); });
    document.getElementById("prev").addEventListener("click", function () { step(-1); });
    document.getElementById("next").addEventListener("click", function () { step(1); });
    document.getElementById("last").addEventListener("click", function () { pause(); show(steps.length - 1); });
    playButton.addEventListener("click", toggle);
    slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
    speed.addEventListener("change", function () { if (timer !== null) play(); });
    document.getElementById("zoom-in").addEventListener("click", function () { zoom(1); });
    document.getElementById("zoom-out").addEventListener("click", function () { zoom(-1); });
    document.getElementById("fit").addEventListener("click", function () { zoom(0); });
    document.getElementById("check").addEventListener("click", check);
    answerBox.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); check(); }
    });
    // The help line's keys work wherever focus is (a button just clicked, the slider), except where
    // one types: the answer box and the speed list keep their keys.
    document.addEventListener("keydown", function (event) {
      if (event.target.matches("select, textarea, input:not([type=range])")) return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;  // the browser's own zoom and shortcuts
      var keys = {ArrowRight: function () { step(1); }, ArrowLeft: function () { step(-1); },
        Home: function () { pause(); show(0); }, End: function () { pause(); show(steps.length - 1); },
        " ": toggle, "+": function () { zoom(1); }, "=": function () { zoom(1); }, "-": function () { zoom(-1); },
        f: function () { zoom(0); }, F: function () { zoom(0); }};
      if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
    });
    window.addEventListener("resize", fit);
    window.addEventListener("hashchange", function () {
      var named = stepFromAddress(window.location.hash, steps.length);
      if (named !== null && named !== current) { pause(); show(named); }
    });
    fit();
    pause();
    var opened = stepFromAddress(window.location.hash, steps.length);
    show(opened === null ? 0 : opened);
  }

  return {
    clamp: clamp,
    edgeKey: edgeKey,
    plan: plan,
    visibility: visibility,
    moment: moment,
    following: following,
    replayFrom: replayFrom,
    asks: asks,
    tooltip: tooltip,
    focusing: focusing,
    judge: judge,
    score: score,
    stepFromAddress: stepFromAddress,
    address: address,
    zoomed: zoomed,
    placeBadge: placeBadge,
    start: start,
  };
});
