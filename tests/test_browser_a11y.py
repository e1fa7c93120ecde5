"""Every page and every Inside view, legible for everyone at 1280x900 and on a phone (390x844), in
real Chromium: an accessibility audit by axe-core (the engine behind Lighthouse's accessibility
score, from the axe-playwright-python package) finds no critical or serious violation (every
picture has a text alternative, text contrasts at least 4.5:1 with its background, every control
has a name); no text is cut where it can be read from the page; and every control of the Draw
page is reached with the Tab key."""

import re

import pytest

from chromium import draw, idle, prediction
from conftest import running_app
from nn_core.network import init_params
from nn_core.storage import save_model
from strokes import DIGITS

pytestmark = pytest.mark.browser  # drives a real Chromium: left out of the quick check

SEVERE = ("critical", "serious")
OTHER, SMALL = "my-drawings-fine-tuned", {"Dim": [784, 16, 10], "Activs": ["relu", "softmax"]}  # a second model to compare
INSIDE_VIEWS = {
    "What the neurons look for": "incoming weights, one per pixel",
    "Where it fails": "Accuracy per digit",
    "How far to trust it": "Calibration error",
    "How robust it is": "A steep fall",
    "Models side by side": "Delete a model you saved",
}


def audit(page):
    """axe-core's critical and serious violations on the page as it is: a list of
    ``(impact, rule, how many elements, the first element's selector and what axe says of it)``."""
    from axe_playwright_python.sync_playwright import Axe

    idle(page)
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    results = Axe().run(page)
    return [
        (v["impact"], v["id"], len(v["nodes"]), v["nodes"][0]["target"], v["nodes"][0].get("failureSummary", "")[:300])
        for v in results.response["violations"]
        if v["impact"] in SEVERE
    ]


def go(page, name):
    """Open a page by its link in the navigation (on a phone, the sidebar is opened first)."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)
    expand = page.get_by_test_id("stExpandSidebarButton")
    if expand.is_visible():  # the sidebar is folded away (narrow screens)
        expand.click()
    link.click()
    page.wait_for_timeout(500)  # (the sidebar slides)
    if page.viewport_size["width"] < 700 and page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "false":
        # on a phone the open sidebar covers the page: fold it again
        page.get_by_test_id("stSidebarHeader").hover()
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        page.get_by_test_id("stSidebar").and_(page.locator('[data-collapsed="true"]')).wait_for(state="attached")


def places(page, url):
    """Visit every page and view a beginner reaches, yielding each one's name once it is drawn."""
    page.goto(url)
    page.locator("canvas").last.wait_for()
    idle(page)
    yield "Draw, empty"
    draw(page, DIGITS[3])
    prediction(page)
    page.get_by_text("Your digit through the network:").filter(visible=True).wait_for()
    page.locator(".st-key-network_wide, .st-key-network_narrow").filter(visible=True).get_by_test_id("stVegaLiteChart").locator(
        "canvas, svg.marks"
    ).first.wait_for()
    yield "Draw, a digit drawn (network view)"
    page.get_by_text("Why this answer?").click()
    page.get_by_text(re.compile(r"pushed most towards \d\.|Nothing in the picture")).wait_for()
    yield "Draw, why this answer"
    page.get_by_text("Why this answer?").click()
    idle(page)
    page.get_by_role("button", name=re.compile(r"Yes, it is an? \d")).click()
    page.get_by_text(re.compile(r"Kept as an? \d")).wait_for()
    go(page, "Train")
    page.get_by_role("button", name="Start", exact=True).wait_for()
    yield "Train"
    for tab, marker in (
        ("Sweep", page.get_by_role("button", name="Start sweep")),
        ("All runs", page.get_by_text("Every finished run on this server")),
    ):
        page.get_by_role("tab", name=tab).click()
        marker.wait_for()
        idle(page)
        yield "Train, %s tab" % tab
    page.get_by_role("tab", name="One run").click()
    go(page, "My drawings")
    page.get_by_text("Read wrong by the network").wait_for()
    page.get_by_test_id("stVegaLiteChart").first.locator("canvas, svg").first.wait_for()
    yield "My drawings"
    go(page, "Inside the network")
    page.get_by_text("Inside the network").first.wait_for()
    for view, marker in INSIDE_VIEWS.items():
        page.get_by_text(view, exact=True).click()
        page.get_by_text(marker).first.wait_for()
        idle(page)
        if view == "How robust it is":
            page.get_by_test_id("stVegaLiteChart").nth(4).locator("canvas, svg").first.wait_for()
            yield "Inside: " + view
            page.get_by_test_id("stMultiSelect").filter(has_text="Compare with").click()
            page.get_by_role("option", name=OTHER).click()
            page.keyboard.press("Escape")
            page.get_by_test_id("stVegaLiteChart").nth(4).get_by_text(OTHER).wait_for()  # its legend names both
            idle(page)
            yield "Inside: " + view + ", compared with another model"
        else:
            yield "Inside: " + view


# Text cut where it can be read from the page: Vega's own ellipsis in a chart drawn as SVG (a
# label longer than its limit), a chart's text reaching out of its chart, and text that CSS ends
# with an ellipsis (a select box's value, a pill) because it does not fit its box. Charts drawn on
# a canvas (the network view, the neurons gallery) keep their text out of reach.
CUT = """() => {
  const cut = [], shown = e => {  // on the screen (not in a folded sidebar, off to the left)
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > 0 && r.left < window.innerWidth && getComputedStyle(e).visibility !== "hidden";
  };
  const visible = e => {  // the horizontal span of the page where e can show: its clipping ancestors and the window
    let left = 0, right = window.innerWidth;
    for (let a = e.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") {
        const r = a.getBoundingClientRect(); left = Math.max(left, r.left); right = Math.min(right, r.right);
      }
    }
    return [left, right];
  };
  for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    const box = chart.getBoundingClientRect();
    for (const t of chart.querySelectorAll("svg text")) {
      const text = t.textContent.trim(), r = t.getBoundingClientRect(), [left, right] = visible(t);
      if (!text || !shown(t)) continue;
      // (3 pixels: a glyph's box is wider than its ink, and Vega sets a title that close to the edge)
      if (text.endsWith("\u2026")) cut.push("chart text ends with an ellipsis: " + text);
      else if (r.width > box.width || r.left < left - 3 || r.right > right + 3) cut.push("chart text cut at its chart's edge: " + text);
    }
  }
  for (const e of document.querySelectorAll("body *")) {
    if (!shown(e) || getComputedStyle(e).textOverflow !== "ellipsis" || !e.innerText || !e.innerText.trim()) continue;
    if (e.scrollWidth > e.clientWidth + 1) cut.push("text cut by an ellipsis: " + e.innerText.trim().slice(0, 80));
  }
  return cut;
}"""
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module", params=list(SIZES))
def walk(request, browser, tmp_path_factory):
    """Every page and view visited as a new person at one screen size: for each, axe-core's
    critical and serious violations and the text found cut."""
    width, height = SIZES[request.param]
    folder = tmp_path_factory.mktemp("a11y")
    with running_app(folder) as url:
        with pytest.MonkeyPatch.context() as patch:  # into the server's weights folder
            patch.setenv("NN_CORE_WEIGHTS_DIR", str(folder / "weights"))
            save_model(OTHER, init_params(SMALL, seed=0), SMALL, {})
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(60_000)
        found = {}
        for place in places(page, url):
            page.wait_for_timeout(300)  # Vega lays out its SVG a moment after the element is there
            found[place] = (audit(page), page.evaluate(CUT))
        context.close()
    for place, (violations, cut) in found.items():  # the counts, for the README (pytest -s shows them)
        print(
            "%s %-52s critical %d, serious %d (elements); text cut: %d"
            % (request.param, place, *(sum(v[2] for v in violations if v[0] == kind) for kind in SEVERE), len(cut))
        )
        for c in cut:
            print("    " + c)
    return found


def test_no_critical_or_serious_accessibility_violation_on_any_page(walk):
    problems = ["%s: %s" % (place, v) for place, (violations, _) in walk.items() for v in violations]
    assert not problems, "\n".join(problems)


def test_no_text_is_cut_on_any_page(walk):
    problems = ["%s: %s" % (place, c) for place, (_, cut) in walk.items() for c in cut]
    assert not problems, "\n".join(problems)


def test_every_control_of_the_draw_page_is_reached_with_tab(page):
    """From the top of the page, Tab alone reaches the input choice, Clear, the brush, the answer's
    buttons, the "why" switch, the network view's switch and the model picker."""
    draw(page, DIGITS[4])
    prediction(page)
    page.get_by_text("Your digit through the network:").filter(visible=True).wait_for()
    wanted = {
        "Draw": False,
        "Clear": False,
        "Brush": False,
        "Yes, it is": False,
        "Why this answer?": False,
        "Your digit through the network": False,
        "Model": False,
        "No, it is": False,
    }
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # Tab from the top of the page
    for _ in range(120):
        page.keyboard.press("Tab")
        label = page.evaluate("""() => { const e = document.activeElement; if (!e) return "";
            const by = e.getAttribute("aria-labelledby");
            const named = by ? by.split(" ").map(i => (document.getElementById(i) || {}).innerText || "").join(" ") : "";
            const box = e.closest('[data-testid^="st"]');
            return [e.getAttribute("aria-label") || "", named, e.innerText || "", e.value || "",
                    box ? box.innerText.slice(0, 200) : ""].join(" | "); }""")
        for name in wanted:
            if name in label:
                wanted[name] = True
        if all(wanted.values()):
            break
    assert all(wanted.values()), [name for name, reached in wanted.items() if not reached]
