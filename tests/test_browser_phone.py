"""The network view on a phone (390x844, touch) and on a laptop (1280x900), in real Chromium: on
the phone the 28x28 input is drawn square, the neurons' squares are big enough to tap and a tap
shows the neuron, the correction buttons are touch targets of 44x44 pixels in rows that leave none
alone; on the laptop the view starts on the first screen, under the canvas."""

import re

import numpy as np
import pytest
from PIL import Image

from chromium import draw, idle, prediction
from conftest import SCREENSHOTS
from pages import _network
from strokes import DIGITS

pytestmark = pytest.mark.browser  # drives a real Chromium: left out of the quick check

SHOWN = 2  # hidden layers of the shipped model (784-800-800-10)


def picture(locator):
    return np.asarray(Image.open(__import__("io").BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def input_box(pixels):
    """Width and height in pixels of the input as drawn in a screenshot of the compact view: the
    first run of columns from the left holding dark pixels (the input's unlit background), and the
    first run of rows holding them there (the red lines between the layers are never dark)."""
    dark = pixels.max(axis=2) < 80
    columns = np.flatnonzero(dark.any(axis=0))
    run = columns[: np.argmax(np.diff(np.append(columns, 10**6)) > 1) + 1]
    rows = np.flatnonzero(dark[:, run[0] : run[-1] + 1].any(axis=1))
    rows = rows[: np.argmax(np.diff(np.append(rows, 10**6)) > 1) + 1]  # (the answers' row, further down, apart)
    return len(run), len(rows)


@pytest.fixture
def phone(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.locator("canvas").last.wait_for()
    idle(page)
    yield page
    context.close()


def test_the_network_view_on_a_phone_is_square_tappable_and_its_buttons_fit_a_finger(phone):
    draw(phone, [[(x * 0.9, y * 0.9) for x, y in stroke] for stroke in DIGITS[3]])
    assert prediction(phone) == 3
    view = phone.locator(".st-key-network_narrow")
    chart = view.get_by_test_id("stVegaLiteChart").locator("canvas, svg.marks").first
    chart.wait_for()
    assert not phone.locator(".st-key-network_wide").is_visible() and not phone.locator(".st-key-network_every").is_visible()
    chart.scroll_into_view_if_needed()
    phone.wait_for_timeout(500)  # Vega draws into its canvas after the element is there
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # the whole view on the screen

    width, height = input_box(picture(chart))
    side, per_row, _ = _network.compact_layout([None] * (SHOWN + 2))
    scale = min(box["width"], _network.COMPACT_WIDTH) / _network.COMPACT_WIDTH  # screen pixels per pixel of the layout
    square = side / per_row * 0.85 * scale
    print("phone: input drawn %dx%d px (ratio %.2f); neuron squares %.1f px" % (width, height, width / height, square))
    assert abs(width / height - 1) <= 0.1 and width >= 60, (width, height)
    assert square >= 8, square

    pills = [radio.bounding_box() for radio in phone.get_by_test_id("stButtonGroup").get_by_role("radio").all()]
    assert len(pills) == 9  # every digit but the answer
    rows = {}
    for p in pills:
        assert p["width"] >= 44 and p["height"] >= 44, p
        assert 0 <= p["x"] and p["x"] + p["width"] <= 390, p
        rows.setdefault(round(p["y"]), []).append(p)
    assert min(len(row) for row in rows.values()) >= 2, [len(row) for row in rows.values()]  # none alone on its row
    print(
        "phone: correction buttons %dx%d px, rows of %s"
        % (pills[0]["width"], pills[0]["height"], [len(r) for r in rows.values()])
    )

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view.screenshot(path=str(SCREENSHOTS / "network-phone.png"))
    first = side * (1 + _network.COMPACT_GAP) + side / per_row * 0.85 / 2  # the most active neuron of hidden layer 1
    phone.touchscreen.tap(box["x"] + first * scale, box["y"] + side / per_row * 0.85 / 2 * scale)
    detail = view.get_by_test_id("stMarkdown").filter(has_text=re.compile(r"Neuron \d+ of hidden layer 1"))
    detail.wait_for()
    assert "outputs" in detail.inner_text()  # the most active neuron fires
    view.get_by_test_id("stImage").filter(has_text="its weights").wait_for()

    phone.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    idle(phone)
    phone.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    phone.screenshot(path=str(SCREENSHOTS / "draw-phone.png"))


def test_on_a_laptop_the_network_view_starts_on_the_first_screen_under_the_canvas(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.locator("canvas").last.wait_for()
    idle(page)
    draw(page, DIGITS[8])
    assert prediction(page) == 8
    page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    view = page.locator(".st-key-network_wide").get_by_test_id("stVegaLiteChart").locator("canvas, svg.marks").first
    view.wait_for()
    canvas = page.locator("canvas").first.bounding_box()  # the drawing canvas
    box = view.bounding_box()
    print("laptop: the network view from y=%d to %d of a 900-pixel screen" % (box["y"], box["y"] + box["height"]))
    assert box["y"] < 900 and box["y"] > canvas["y"] + canvas["height"], (box, canvas)  # under the canvas, on the first screen
    assert abs(box["x"] - canvas["x"]) < 2  # in the canvas's column
    assert not page.locator(".st-key-network_narrow").is_visible()
    assert page.locator(".st-key-network_every").get_by_text("Every neuron").is_visible()  # and every neuron further down
    context.close()
