"""Driving the app in Chromium as a person would: drawing on the canvas stroke by stroke and
reading the answer, and, on the Train page, starting a long run and following it. Shared by the
browser tests and bench/draw_latency.py."""

import re
import time

from conftest import open_app
from strokes import INK, SEEN, densify

COOKIE = "digit_studio_visitor"


def idle(page):
    """Wait until the app has no run in progress (its status widget is hidden)."""
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def seen_picture(page):
    """The address of the "what the network sees" picture, or None before there is one; it
    changes whenever the app has read a new drawing."""
    image = page.get_by_test_id("stImage").filter(has_text="What the network sees").locator("img")
    return image.get_attribute("src") if image.count() else None


def ink(page, points):
    return page.locator("canvas").evaluate_all(INK, [list(p) for p in points])


def inked(page, points, before, seconds=3.0):
    """Wait until more of ``points`` show ink than ``before``; False if they do not in time."""
    deadline = time.time() + seconds
    while ink(page, points) <= before:
        if time.time() > deadline:
            return False
        page.wait_for_timeout(50)  # a polling interval, not a settle time
    return True


def draw(page, strokes):
    """Draw stroke by stroke with the mouse, waiting after each until the canvas shows it and the
    app has read it. A stroke the canvas did not take (made while it was still being put up) is
    drawn again."""
    for stroke in strokes:
        for _attempt in range(5):
            canvas = page.locator("canvas").last
            box = canvas.bounding_box()
            points = densify(stroke)
            before, ink_before = seen_picture(page), ink(page, points)
            page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
            page.mouse.down()
            for x, y in points[1:]:
                page.mouse.move(box["x"] + x, box["y"] + y)
            page.mouse.up()
            if inked(page, points, ink_before):
                break
            # else the canvas was not ready for the mouse yet: draw the stroke again
        page.wait_for_function(SEEN, arg=before, timeout=30_000, polling=50)
        idle(page)


def clear(page):
    """Press Clear and wait for a new, empty canvas."""
    old = page.locator("canvas").last.element_handle()
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("Draw a digit in the box").wait_for()
    page.wait_for_function("old => !old.isConnected", arg=old)
    page.locator("canvas").last.wait_for()
    idle(page)


def prediction(page):
    """The digit in the Prediction metric (``draw`` has waited for the app's answer)."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    metric.wait_for()
    idle(page)
    return int(metric.get_by_test_id("stMetricValue").inner_text())


def person(browser, url):
    """A new browser (context) that has opened the app once; returns it, its page and its id."""
    context, page = open_app(browser, url, timeout=60_000)
    idle(page)
    page.wait_for_function("name => document.cookie.includes(name + '=')", arg=COOKIE)
    ids = [c["value"] for c in context.cookies() if c["name"] == COOKIE]
    assert len(ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", ids[0]), ids
    return context, page, ids[0]


def epoch_shown(page, of):
    """The epoch the progress line says the run is at ("run 1: epoch 7 of 100, ...")."""
    line = page.get_by_text(re.compile(r"run 1: (paused at )?epoch \d+ of %d" % of))
    line.wait_for(timeout=90_000)
    return int(re.search(r"epoch (\d+) of", line.inner_text()).group(1))


def run_on_the_charts(page):
    """The Train page's cost chart shows run 1 (its legend names it)."""
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.wait_for()
    chart.get_by_text("run 1", exact=True).first.wait_for()


def start_a_long_run(page, url):
    page.goto(url + "/train?epochs=100&n_train=5000")
    start = page.get_by_role("button", name="Start", exact=True)
    start.wait_for()
    idle(page)
    start.click()
    return epoch_shown(page, 100)


def trains_on_and_stops(page, url, before):
    """On this server's Train page, the run started elsewhere (at epoch ``before``) trains on,
    with its curves; its Stop works."""
    page.goto(url + "/train")
    deadline = time.time() + 60
    while epoch_shown(page, 100) <= before + 1:  # training on, on the scheduler's workers
        assert time.time() < deadline, "the run did not go on without the app server that started it"
        page.wait_for_timeout(1000)
    run_on_the_charts(page)
    idle(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text(re.compile(r"run 1: stopped, \d+ epoch")).wait_for()
