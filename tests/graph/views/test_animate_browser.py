"""The animation page in a real browser: Debian's headless Chromium driven by Playwright.

``make test`` installs the ``chromium`` package; Playwright only drives it
(``executable_path``), it downloads no browser of its own. One browser serves
the whole module; each test gets a fresh page and fails on any script error or
on any request that leaves the file.
"""

import io
import shutil

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright
from test_animate import fan_out, small_mlp

from models.lecture import FIRST_CIRCUIT_FEEDS, first_circuit, patterns_circuit, sigmoid_neuron

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VALUE_RGB, GRAD_RGB = (0x1A, 0x7F, 0x1A), (0xC8, 0x10, 0x2E)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The lecture's circuits and a small MLP written as animations, by name."""
    folder = tmp_path_factory.mktemp("animations")
    builds = {
        "circuit": first_circuit,
        "neuron": sigmoid_neuron,
        "patterns": patterns_circuit,
        "mlp": small_mlp,
        "fan_out": fan_out,
    }
    return {name: build().animate(folder / f"{name}.html").as_uri() for name, build in builds.items()}


@pytest.fixture
def open_page(browser):
    """Open one of the pages; afterwards, fail on script errors and on requests beyond the file itself."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    problems, requests = [], []

    def open_(url):
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        return page

    yield open_
    context.close()
    assert not problems
    assert all(url.startswith(("file:", "data:")) for url in requests), requests


def step(page) -> int:
    return int(page.evaluate("document.body.dataset.step"))


def current(page):
    """The highlighted node's name and the badge written on it."""
    return page.evaluate(
        "() => { var node = document.querySelector('.gg-node.current'); var badge = node.querySelector('g.badge');"
        " return [node.dataset.node, badge ? badge.textContent : null]; }"
    )


def node(name: str) -> str:
    """The CSS selector of the diagram's node ``name`` (names here are plain letters and digits)."""
    return f'.gg-node[data-node="{name}"]'


def test_the_first_frame_shows_the_first_input_and_hides_what_is_not_computed_yet(open_page, pages):
    page = open_page(pages["circuit"])
    assert page.inner_text("#counter") == "step 1 of 10"
    assert page.inner_text("#phase") == "forward"
    assert page.inner_text("#sentence") == "x is an input: the forward pass starts from its value -2."
    assert page.inner_text("#detail") == "x   input   value -2"
    assert page.title() == "Backpropagation, step by step" and page.inner_text("h1") == page.title()
    assert current(page) == ["x", "= -2"]
    assert page.eval_on_selector(node("f"), "node => node.classList.contains('pending')")
    shown = page.eval_on_selector_all(
        "text.gg-value, text.gg-grad",
        "texts => texts.filter(t => getComputedStyle(t).visibility === 'visible').map(t => t.textContent)",
    )
    assert shown == ["-2"]  # x's value on its edge into q; nothing else yet, no gradient
    assert page.inner_text("#play") == "play"


def test_next_walks_forward_then_back_to_x_whose_gradient_is_minus_four(open_page, pages):
    page = open_page(pages["circuit"])
    seen = []
    for _ in range(12):
        page.click("#next")
        seen.append((page.inner_text("#phase"), current(page)[0]))
        if seen[-1] == ("backward", "x"):
            break
    assert seen == [("forward", n) for n in "yzqf"] + [("backward", n) for n in "fzqx"]
    assert "-4" in page.inner_text("#sentence") and "-4" in page.inner_text("#detail")
    assert page.inner_text("#detail") == "x   input   value -2\n  dL/dx = -4"
    assert current(page) == ["x", "dL/dx = -4"]
    assert page.text_content(f"{node('x')} g.badge") == "dL/dx = -4"  # written inside the highlighted node's group
    # every gradient on the diagram is showing now, and the edge x -> q is lit in red
    hidden = page.eval_on_selector_all("text.gg-grad.pending", "texts => texts.length")
    assert hidden == 0
    lit = page.eval_on_selector_all(
        ".gg-edge.lit.backward", "parts => parts.map(part => part.dataset.source + '->' + part.dataset.target)"
    )
    assert lit == ["x->q"] * 3  # one edge: the line into its label, the label, the line out


def test_arrow_keys_step_and_home_end_jump(open_page, pages):
    page = open_page(pages["circuit"])
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert step(page) == 3 and page.inner_text("#counter") == "step 4 of 10"
    page.keyboard.press("ArrowLeft")
    assert step(page) == 2
    page.keyboard.press("End")
    assert step(page) == 9 and current(page)[1] == "dL/dy = -4"
    page.keyboard.press("ArrowRight")  # nothing past the last step
    assert step(page) == 9
    page.keyboard.press("Home")
    assert step(page) == 0
    page.keyboard.press("ArrowLeft")
    assert step(page) == 0


def test_the_slider_follows_the_steps_and_moves_them(open_page, pages):
    page = open_page(pages["circuit"])
    slider = page.locator("#slider")
    assert slider.get_attribute("max") == "9"
    page.keyboard.press("ArrowRight")
    assert slider.input_value() == "1"
    # a click on the slider's track: a little past the middle of ten steps
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] / 2)
    assert step(page) in (5, 6) and slider.input_value() == str(step(page))
    assert page.inner_text("#phase") == "backward"
    # with the slider focused its own keys move it, one step at a time (the page does not step twice)
    before = step(page)
    page.keyboard.press("ArrowRight")
    assert step(page) == before + 1
    page.keyboard.press("End")
    assert step(page) == 9


def test_play_runs_to_the_end_and_pause_stops_it(open_page, pages):
    page = open_page(pages["circuit"])
    page.select_option("#speed", "10")  # 0.12 s a step
    page.click("#play")
    assert page.inner_text("#play") == "pause"
    page.wait_for_function("document.body.dataset.step >= 3")
    page.click("#play")
    assert page.inner_text("#play") == "play"
    paused = step(page)
    page.wait_for_timeout(400)
    assert step(page) == paused and 3 <= paused < 9
    page.keyboard.press(" ")  # space plays too, and playing stops by itself at the last step
    page.wait_for_function("document.body.dataset.playing === 'false'", timeout=5000)
    assert step(page) == 9
    page.keyboard.press(" ")  # playing again from the end starts over
    assert step(page) <= 1
    page.click("#next")  # stepping by hand pauses
    assert page.inner_text("#play") == "play"


def test_a_screenshot_mid_backward_shows_the_diagram_in_colour(open_page, pages, tmp_path):
    page = open_page(pages["neuron"])
    page.click("#last")
    for _ in range(4):
        page.click("#prev")
    assert page.inner_text("#phase") == "backward"
    png = page.screenshot()
    (tmp_path / "neuron.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (1280, 800)
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 100  # text, shapes, anti-aliasing: far from a blank page

    def has(rgb):
        return any(sum(abs(a - b) for a, b in zip(colour, rgb)) < 30 for _, colour in colours)

    assert has(VALUE_RGB) and has(GRAD_RGB)  # green values forward, red gradients back


def test_a_fan_out_node_shows_its_running_sum_while_the_branches_arrive(open_page, pages):
    page = open_page(pages["fan_out"])
    sums = []
    page.keyboard.press("End")
    while page.inner_text("#phase") == "backward":
        badge = page.query_selector(f"{node('x')} g.badge.sum")
        if badge is not None:
            sums.append(badge.text_content())
        page.keyboard.press("ArrowLeft")
    assert sums[::-1] == ["Σ 3 = 3 (so far: 1 of 3)", "Σ 3 + 3 = 6 (so far: 2 of 3)", "Σ 3 + 3 + 2 = 8 (all: 3 of 3)"]


@pytest.mark.parametrize("name", ["neuron", "patterns", "mlp"])
def test_every_step_of_the_lecture_pages_renders(open_page, pages, name):
    page = open_page(pages[name])
    total = int(page.get_attribute("#slider", "max")) + 1
    badges = []
    for index in range(total):
        if index:
            page.keyboard.press("ArrowRight")
        badges.append(current(page)[1])
    assert step(page) == total - 1
    assert all(badges), "every step writes its value or gradient on its node"
    assert page.eval_on_selector_all("text.gg-grad.pending", "texts => texts.length") == 0
    if name == "neuron":
        assert "dL/dx1 = -0.5898" in badges
    if name == "mlp":
        assert any(badge.startswith("dL/dW1 = (4, 3) float64 mean") for badge in badges)


def test_the_page_still_steps_when_the_diagrams_colours_change(open_page, monkeypatch, tmp_path):
    import graph.views.diagram

    blue, magenta = (0x00, 0x00, 0xFF), (0xFF, 0x00, 0xFF)
    monkeypatch.setattr(graph.views.diagram, "VALUE_COLOR", "#0000ff")
    monkeypatch.setattr(graph.views.diagram, "GRAD_COLOR", "#ff00ff")
    page = open_page(first_circuit().animate(tmp_path / "blue.html").as_uri())

    def shown():
        return page.eval_on_selector_all(
            "text.gg-value, text.gg-grad",
            "texts => texts.filter(t => getComputedStyle(t).visibility === 'visible').map(t => t.textContent)",
        )

    assert shown() == ["-2"]
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert current(page) == ["f", "dL/df = 1"]
    # every value; f's step sends -4 to q and 3 to z, and the seed 1 sits on the output's arrow
    assert sorted(shown()) == sorted(["-2", "5", "-4", "3", "-12", "1", "-4", "3"])
    page.keyboard.press("End")
    assert page.eval_on_selector_all("text.gg-grad.pending", "texts => texts.length") == 0
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    colours = [colour for _, colour in image.getcolors(maxcolors=1 << 20)]

    def has(rgb):
        return any(sum(abs(a - b) for a, b in zip(colour, rgb)) < 30 for colour in colours)

    assert has(blue) and has(magenta) and not has(VALUE_RGB) and not has(GRAD_RGB)


def test_each_badge_sits_beside_its_node(open_page, pages):
    page = open_page(pages["neuron"])
    gap = (
        "() => { var node = document.querySelector('.gg-node.current');"
        " var shape = node.querySelector('ellipse, polygon').getBBox();"
        " var badge = node.querySelector('g.badge rect').getBBox();"
        " var across = Math.max(shape.x - (badge.x + badge.width), badge.x - (shape.x + shape.width), 0);"
        " var down = Math.max(shape.y - (badge.y + badge.height), badge.y - (shape.y + shape.height), 0);"
        " return Math.max(across, down); }"
    )
    total = int(page.get_attribute("#slider", "max")) + 1
    gaps = []
    for index in range(total):
        if index:
            page.keyboard.press("ArrowRight")
        gaps.append(page.evaluate(gap))
    assert max(gaps) <= 30, gaps  # next to its node, at most a row further out


def test_a_node_the_last_forward_did_not_run_stays_faded_and_without_values(open_page, tmp_path):
    from gates import AddGate, MultiplyGate
    from graph import ComputationalGraph

    g = ComputationalGraph()
    x = g.input("x")
    g.add_gate(MultiplyGate(), x, 2.0, name="double")
    g.add_gate(AddGate(), x, 1.0, name="shifted")
    g.forward(x=10.0)
    g.forward(x=3.0, outputs="double")
    g.backward(output="double")
    page = open_page(g.animate(tmp_path / "partial.html").as_uri())
    for _ in range(int(page.get_attribute("#slider", "max")) + 1):
        assert page.eval_on_selector(node("shifted"), "node => node.classList.contains('pending')")
        page.keyboard.press("ArrowRight")
    on_edges = page.eval_on_selector_all(
        ".gg-edge text.gg-value, .gg-edge text.gg-grad",
        "texts => texts.filter(t => getComputedStyle(t).visibility === 'visible').map(t => t.textContent)",
    )
    assert sorted(on_edges) == sorted(["3", "2", "6", "1"])  # x -> double and double's arrow; nothing of 11


# -- classroom modes: a quiz, a step in the address, keys wherever focus is, forward only, leaves skipped, zoom


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("classroom")


def test_a_quiz_answered_right_then_wrong_keeps_the_score_and_reveals_each_gradient(open_page, folder):
    page = open_page(first_circuit().animate(folder / "quiz.html", quiz=True).as_uri())
    assert page.is_visible("#quiz")
    page.click("#last")  # the last step, y's gradient: a question
    page.keyboard.press("Home")
    for _ in range(6):  # the forward steps, then f's (the seed is given, not asked)
        page.click("#next")
    assert step(page) == 6 and current(page) == ["z", None]  # z's gradient is asked, not written
    assert page.inner_text("#sentence") == "What gradient does z receive? dL/dz = ?"
    assert page.eval_on_selector("body", "body => body.dataset.asking") == "true"
    page.fill("#answer", "3.002")  # within a relative 1e-3
    page.keyboard.press("Enter")
    assert current(page) == ["z", "dL/dz = 3"]
    assert page.inner_text("#verdict").startswith("Right. from f: ")
    assert page.inner_text("#score") == "1 of 1 right"
    page.click("#next")
    assert current(page) == ["q", None]
    page.fill("#answer", "abc")
    page.click("#check")
    assert (
        page.inner_text("#verdict") == "Type a number, like -4 or 0.25." and page.inner_text("#score") == "1 of 1 right"
    )
    page.fill("#answer", "4")
    page.click("#check")
    assert current(page) == ["q", "dL/dq = -4"]
    assert page.inner_text("#verdict").startswith("Not quite: you said 4. from f: ")
    assert page.inner_text("#score") == "1 of 2 right"
    page.click("#prev")  # an answered step stays revealed
    assert current(page) == ["z", "dL/dz = 3"] and page.inner_text("#verdict").startswith("Right.")


def test_playing_a_quiz_stops_at_the_first_question(open_page, folder):
    page = open_page(first_circuit().animate(folder / "quiz_play.html", quiz=True).as_uri())
    page.select_option("#speed", "10")
    page.click("#play")
    page.wait_for_function("document.body.dataset.playing === 'false'", timeout=5000)
    assert step(page) == 6 and page.eval_on_selector("body", "body => body.dataset.asking") == "true"
    assert page.evaluate("document.activeElement.id") == "answer"


def test_a_step_in_the_address_opens_there_and_the_address_follows(open_page, folder):
    url = first_circuit().animate(folder / "linked.html").as_uri()
    page = open_page(url + "#step=8")
    assert step(page) == 7 and page.inner_text("#counter") == "step 8 of 10"
    assert current(page) == ["q", "dL/dq = -4"]
    page.keyboard.press("ArrowRight")
    assert page.evaluate("location.hash") == "#step=9"
    page.evaluate("location.hash = '#step=2'")
    page.wait_for_function("document.body.dataset.step === '1'")
    assert open_page(url + "#step=99").inner_text("#counter") == "step 10 of 10"


def test_space_after_clicking_next_plays_and_keys_work_on_the_slider(open_page, folder):
    page = open_page(first_circuit().animate(folder / "keys.html", interval=0.1).as_uri())
    page.click("#next")
    assert step(page) == 1
    page.keyboard.press(" ")  # focus is on the Next button: Space still plays, not "next" once more
    assert page.inner_text("#play") == "pause"
    page.wait_for_function("document.body.dataset.playing === 'false'", timeout=5000)
    assert step(page) == 9
    page.focus("#slider")
    page.keyboard.press("Home")
    assert step(page) == 0
    page.keyboard.press("ArrowRight")
    assert step(page) == 1
    page.keyboard.press("End")
    assert step(page) == 9
    page.click("#last")
    page.keyboard.press(" ")  # at the end, Space starts over
    assert step(page) <= 1 and page.inner_text("#play") == "pause"


def test_a_forward_only_page_steps_through_the_forward_and_says_the_backward_has_not_run(open_page, folder):
    g = first_circuit(run=False)
    g.forward(**FIRST_CIRCUIT_FEEDS)
    page = open_page(g.animate(folder / "forward.html").as_uri())
    assert page.inner_text("#summary").endswith("5 forward steps, the backward pass has not run")
    phases = []
    for _ in range(5):
        phases.append((page.inner_text("#phase"), current(page)[0]))
        page.keyboard.press("ArrowRight")
    assert phases == [("forward", name) for name in "xyzqf"]
    assert current(page) == ["f", "= -12"]
    assert page.inner_text("#sentence").endswith("The backward pass has not run: call backward() to see the gradients.")


def test_skipped_leaves_appear_with_the_first_gate_that_reads_them(open_page, folder):
    page = open_page(first_circuit().animate(folder / "skip.html", skip_leaves=True).as_uri())
    assert page.inner_text("#counter") == "step 1 of 7" and current(page) == ["q", "= 3"]
    shown = page.eval_on_selector_all(".gg-node:not(.pending)", "nodes => nodes.map(n => n.dataset.node)")
    assert sorted(shown) == ["q", "x", "y"]  # z waits for f, the gate that reads it
    page.keyboard.press("ArrowRight")
    shown = page.eval_on_selector_all(".gg-node:not(.pending)", "nodes => nodes.map(n => n.dataset.node)")
    assert sorted(shown) == ["f", "q", "x", "y", "z"]


def test_zoom_buttons_and_keys_scale_the_drawing_and_fit_shows_it_whole(open_page, folder):
    page = open_page(sigmoid_neuron().animate(folder / "zoom.html").as_uri())

    def width():
        return page.eval_on_selector("#stage svg", "svg => svg.getBoundingClientRect().width")

    before = width()
    page.click("#zoom-in")
    assert width() == pytest.approx(before * 1.25, rel=1e-3)
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert width() == pytest.approx(before / 1.25, rel=1e-3)
    page.keyboard.press("f")
    box = page.eval_on_selector(
        "#stage svg", "svg => { var r = svg.getBoundingClientRect(); return [r.width, r.height]; }"
    )
    stage = page.eval_on_selector("#stage", "stage => [stage.clientWidth, stage.clientHeight]")
    assert box[0] <= stage[0] and box[1] <= stage[1] + 1
    assert box[0] >= stage[0] - 20 or box[1] >= stage[1] - 20  # as large as fits, one side touching


# -- focus=, tooltips, fitting an MLP ------------------------------------------------------------------------


def test_a_focus_page_fades_what_is_off_the_paths_and_draws_the_paths_thick(open_page, folder):
    page = open_page(small_mlp().animate(folder / "focus.html", focus="W1").as_uri())
    assert page.evaluate("document.body.dataset.focus") == "W1"
    assert "focus: the 1 path from W1 to loss" in page.inner_text("#summary")
    page.keyboard.press("End")  # every node computed: what is left faint is the focus's fading alone
    on = page.eval_on_selector_all(".gg-node.focus-on", "nodes => nodes.map(n => n.dataset.node)")
    off = page.eval_on_selector_all(".gg-node.focus-off", "nodes => nodes.map(n => n.dataset.node)")
    assert sorted(on) == ["A1", "W1", "linear_1", "linear_2", "loss"]
    assert sorted(off) == ["W2", "X", "Y", "b1", "b2"]
    opacity = "elements => elements.map(e => Number(getComputedStyle(e).opacity))"
    assert set(page.eval_on_selector_all(".gg-node.focus-off:not(.current)", opacity)) == {0.3}
    assert set(page.eval_on_selector_all(".gg-node.focus-on", opacity)) == {1}
    widths = page.eval_on_selector_all(
        ".gg-edge.focus-on:not(.gg-edge-label) path", "paths => paths.map(p => getComputedStyle(p).strokeWidth)"
    )
    assert widths and set(widths) == {"3px"}
    faded_edges = page.eval_on_selector_all(".gg-edge.focus-off", "edges => edges.map(e => e.dataset.source)")
    assert {"X", "b1", "W2", "b2", "Y"} == set(faded_edges)
    page.keyboard.press("Home")  # pending and off the paths: fainter still
    assert set(page.eval_on_selector_all(".gg-node.focus-off.pending", opacity)) == {0.08}


def test_the_focused_nodes_backward_step_writes_the_sum_over_paths(open_page, folder):
    page = open_page(first_circuit().animate(folder / "focus_x.html", focus="x").as_uri())
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")  # x's backward step, before y's
    assert current(page)[0] == "x"
    detail = page.inner_text("#detail")
    assert "  x → q → f   ∂q/∂x · ∂f/∂q = 1 · z = 1 × -4 = -4" in detail
    assert detail.endswith("the backward pass computed dL/dx = -4: the same")


def test_tooltips_are_never_ahead_of_the_step(open_page, pages):
    page = open_page(pages["circuit"])

    def tip(name: str) -> str:
        return page.eval_on_selector(
            f"{node(name)} a", "a => a.getAttributeNS('http://www.w3.org/1999/xlink', 'title')"
        )

    assert tip("x") == "x: input\nvalue -2"
    assert tip("f").splitlines()[1:3] == ["∂f/∂q = z", "∂f/∂z = q"] and "\nvalue " not in tip("f")
    for _ in range(4):
        page.keyboard.press("ArrowRight")  # f's forward step
    assert tip("f").endswith("value -12") and "∂f/∂q = z = -4" in tip("f")
    assert "grad" not in tip("q").split("\n")[-1]
    page.keyboard.press("ArrowRight")  # f's backward step
    assert tip("f").endswith("value -12\ngrad 1") and not tip("z").endswith("grad 3")
    page.keyboard.press("ArrowRight")  # z's
    assert tip("z") == "z: input\nvalue -4\ngrad 3" and tip("x") == "x: input\nvalue -2"
    page.keyboard.press("Home")
    assert tip("z") == "z: input" and "\nvalue " not in tip("f")


def test_a_quiz_tooltip_keeps_the_gradient_it_asks_for(open_page, folder):
    page = open_page(first_circuit().animate(folder / "quiz_tips.html", quiz=True).as_uri())
    page.goto(page.url.split("#")[0] + "#step=7")  # z's backward step: a question
    page.reload()
    assert page.evaluate("document.body.dataset.asking") == "true"
    told = page.eval_on_selector(f"{node('z')} a", "a => a.getAttributeNS('http://www.w3.org/1999/xlink', 'title')")
    assert told == "z: input\nvalue -4"
    page.fill("#answer", "3")
    page.click("#check")
    told = page.eval_on_selector(f"{node('z')} a", "a => a.getAttributeNS('http://www.w3.org/1999/xlink', 'title')")
    assert told == "z: input\nvalue -4\ngrad 3"


def test_fit_shows_a_whole_mlp_in_a_1280_by_720_window(browser, tmp_path):
    from models import MLP

    model = MLP([4, 16, 16, 3], seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    model.loss(rng.normal(size=(8, 4)), rng.integers(0, 3, size=8))
    model.backward()
    url = model.graph.animate(tmp_path / "mlp.html").as_uri()
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(url)

        def fitted() -> bool:
            drawing = page.eval_on_selector(
                "#stage svg", "svg => { var r = svg.getBoundingClientRect(); return [r.x, r.y, r.right, r.bottom]; }"
            )
            stage = page.eval_on_selector(
                "#stage", "s => { var r = s.getBoundingClientRect(); return [r.x, r.y, r.right, r.bottom]; }"
            )
            inside = drawing[0] >= stage[0] - 1 and drawing[1] >= stage[1] - 1
            inside = inside and drawing[2] <= stage[2] + 1 and drawing[3] <= stage[3] + 1
            unscrolled = page.eval_on_selector(
                "#stage", "s => s.scrollWidth <= s.clientWidth + 1 && s.scrollHeight <= s.clientHeight + 1"
            )
            return inside and unscrolled and stage[0] >= 0 and stage[2] <= 1280 and stage[3] <= 720

        page.click("#zoom-in")
        page.click("#zoom-in")
        assert not fitted()  # zoomed in, the drawing runs off the stage
        page.click("#fit")
        assert fitted()
        page.click("#zoom-in")
        page.keyboard.press("f")
        assert fitted()
        page.click("#zoom-in")
        assert not fitted()
        page.keyboard.press("F")  # a capital F (Shift, or Caps Lock) too, as the help line writes it
        assert fitted()
        shot = tmp_path / "mlp_fit.png"
        page.screenshot(path=str(shot))
        assert Image.open(shot).size == (1280, 720)
    finally:
        context.close()
