"""Node names that look like HTML (``<!--``, ``<script``, ``</script>``) in a real browser: the animation
page still runs, and its controls step through the frames.

Only what a user has: ``g.animate(path)``, the page's buttons by their labels, its keys and its visible
text. Debian's headless Chromium, driven by Playwright (as in test_animate_browser.py).
"""

import shutil

import pytest
from playwright.sync_api import sync_playwright

import gates
from graph import ComputationalGraph

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

X, Y, F = "x<!--", "<script>y", "</script>f"


def animation(path, names) -> str:
    """f = x * y at x = 3, y = 4, under ``names``, written as an animation at ``path``; its URL."""
    x_name, y_name, f_name = names
    g = ComputationalGraph()
    x, y = g.input(x_name), g.input(y_name)
    g.add_gate(gates.MultiplyGate(), x, y, name=f_name)
    g.forward({x_name: 3.0, y_name: 4.0})
    g.backward()
    return g.animate(path).as_uri()


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    """The page with names an HTML tokenizer would take for markup, and the same page with plain names."""
    folder = tmp_path_factory.mktemp("names")
    return {
        "markup": animation(folder / "markup.html", (X, Y, F)),
        "plain": animation(folder / "plain.html", ("x", "y", "f")),
    }


@pytest.fixture
def open_page(urls):
    """Open a page by its key in ``urls``; afterwards, fail on any script error."""
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        def open_(key):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.goto(urls[key])
            return page

        yield open_
        browser.close()
    assert not errors


def frame(page) -> str:
    """What the page shows, as text."""
    return page.inner_text("body")


def test_names_that_look_like_markup_animate_with_working_controls(open_page):
    page = open_page("markup")
    first = frame(page)
    assert X in first  # the first frame speaks of the first input, its name shown as written
    assert "step 1 of" in first

    page.get_by_role("button", name="Next step").click()
    second = frame(page)
    assert second != first and "step 2 of" in second and Y in second

    page.keyboard.press("ArrowRight")
    third = frame(page)
    assert third != second and "step 3 of" in third and F in third and "12" in third  # f = 3 * 4

    page.get_by_role("button", name="Last step").click()
    last = frame(page)
    assert last != third and "backward" in last
    page.keyboard.press("Home")
    assert frame(page) == first


def tags(page) -> dict[str, int]:
    return page.evaluate(
        "() => { var counts = {}; document.querySelectorAll('*').forEach(function (e) {"
        " counts[e.tagName] = (counts[e.tagName] || 0) + 1; }); return counts; }"
    )


def test_names_that_look_like_markup_make_no_elements_and_stay_text(open_page):
    markup, plain = open_page("markup"), open_page("plain")
    assert tags(markup) == tags(plain)  # the same page, element for element, as with plain names
    for name in (X, Y, F):
        assert markup.get_by_text(name, exact=False).count() >= 1
