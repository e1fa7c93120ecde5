"""What a student sees of the network in real Chromium: the drawn digit going through the layers
(changing with the digit, a click on a neuron showing its weights), the evidence for an answer
drawn over the digit, and the Draw and Train pages on a phone's screen (390x844)."""

import re

import pytest
from playwright.sync_api import Error as PlaywrightError

from chromium import clear, draw, idle, prediction
from conftest import SCREENSHOTS
from nn_core.network import N_CLASSES
from pages import _network
from strokes import DIGITS

pytestmark = pytest.mark.browser  # drives a real Chromium: left out of the quick check


def network_chart(page):
    """The view of every neuron (on a wide screen, under the compact view of the most active)."""
    every = page.locator(".st-key-network_every")
    chart = every.get_by_test_id("stVegaLiteChart").filter(has=page.locator("canvas, svg")).last
    every.get_by_text("Every neuron:").wait_for()
    chart.scroll_into_view_if_needed()
    chart.locator("canvas, svg").first.wait_for()
    page.wait_for_timeout(500)  # Vega draws into its canvas after the element is there
    return chart


def neuron_centre(box, dims, layer, i):
    """Where neuron ``i`` of ``layer`` is drawn in the network view's box (its layout in chart units)."""
    places = _network.layout([[0] * n for n in dims])
    left, _, cell = places[-1]
    x, y = _network.centre(places, layer, i)
    return box["x"] + x / (left + cell + _network.ANSWERS_WIDTH) * box["width"], box["y"] + y * box["height"]


def test_the_digit_goes_through_the_network_and_a_click_shows_a_neuron(page):
    clear(page)
    draw(page, DIGITS[1])
    assert prediction(page) == 1
    page.get_by_text("led to the answer 1").wait_for()
    one = network_chart(page).screenshot()
    clear(page)
    draw(page, DIGITS[0])
    assert prediction(page) == 0
    page.get_by_text("led to the answer 0").wait_for()
    chart = network_chart(page)
    zero = chart.screenshot()
    assert zero != one  # the layers light up differently for another digit
    box = chart.locator("canvas, svg").first.bounding_box()
    for attempt in range(3):  # (again if the page redrew the chart under the click)
        x, y = neuron_centre(box, [784, 800, 800, N_CLASSES], 1, 100)
        page.mouse.click(x, y)
        try:
            page.get_by_text("Neuron 101 of hidden layer 1").wait_for(timeout=10_000)
            break
        except PlaywrightError:
            if attempt == 2:
                raise
            idle(page)
    page.get_by_text("its weights, laid out as the input").wait_for()
    text = page.get_by_test_id("stMarkdown").filter(has_text="Neuron 101 of hidden layer 1").inner_text()
    assert re.search(r"outputs \d+\.\d\d for this digit|is silent for this digit", text), text
    page.mouse.move(5, 5)
    idle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    network_chart(page).screenshot(path=str(SCREENSHOTS / "network.png"))


def test_why_this_answer_draws_the_evidence_over_the_digit_with_a_reading(page):
    clear(page)
    draw(page, DIGITS[7])
    digit = prediction(page)
    page.get_by_text("Why this answer?").click()
    page.get_by_text(re.compile(r"pushed most towards %d\." % digit)).wait_for()
    overlay = page.get_by_test_id("stImage").filter(has_text="over it: ink here raises").locator("img")
    seen = page.get_by_test_id("stImage").filter(has_text="the input").locator("img")
    assert overlay.bounding_box()["width"] == seen.bounding_box()["width"]  # the same size as the input it explains
    page.get_by_text("Why this answer?").click()
    idle(page)


def test_on_a_phone_the_canvas_and_the_answer_fit_the_first_screen(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.locator("canvas").last.wait_for()
    idle(page)
    draw(page, DIGITS[9])
    assert prediction(page) == 9
    page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    page.wait_for_timeout(300)
    canvas = page.locator("canvas").last.bounding_box()
    answer = page.get_by_test_id("stMetric").filter(has_text="Prediction").bounding_box()
    assert canvas["y"] + canvas["height"] <= 844, canvas  # the whole canvas on the first screen
    assert 0 < answer["y"] - (canvas["y"] + canvas["height"]) < 200 and answer["y"] < 844, (
        canvas,
        answer,
    )  # the answer right under it
    pills = page.get_by_test_id("stButtonGroup").get_by_role("radio").all()
    assert len(pills) == 9  # every digit but the answer
    for radio in pills:
        pill = radio.bounding_box()
        assert 0 <= pill["x"] and pill["x"] + pill["width"] <= 390, (radio.inner_text(), pill)  # every pill on the screen
    page.goto(app_url + "/train")
    page.get_by_text(re.compile("settings .* are in the sidebar")).wait_for()
    context.close()
