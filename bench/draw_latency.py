"""What the Draw page's network view costs a person drawing: from mouse-up to the updated answer
in one Chromium page, with "Your digit through the network" on and off, in turns (the machine
drifts, so each setting is measured twice, alternating).

    python bench/draw_latency.py [--rounds 2]

Prints each turn's median and its strokes, in seconds (0.2 s of each is the canvas waiting
before it sends the drawing).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from chromium import clear, idle, seen_picture  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from strokes import DIGITS, SEEN, densify  # noqa: E402

TOGGLE = "Your digit through the network"


def stroke_times(page, strokes):
    times = []
    for stroke in strokes:
        points = densify(stroke)
        box = page.locator("canvas").last.bounding_box()
        before = seen_picture(page)
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        start = time.perf_counter()
        page.mouse.up()
        page.wait_for_function(SEEN, arg=before, polling=20, timeout=30_000)
        times.append(time.perf_counter() - start)
        idle(page)
        page.wait_for_timeout(300)
    return times


def main(args):
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        page.locator("canvas").last.wait_for()
        idle(page)
        stroke_times(page, DIGITS[1])  # an answer, so that the toggle is there
        for on in [True, False] * args.rounds:
            if (page.get_by_text(TOGGLE + ":").count() > 0) != on:
                page.get_by_text(TOGGLE, exact=True).first.click()
                idle(page)
                page.wait_for_timeout(500)
            times = []
            for digit in (2, 3, 4, 5, 7, 9):
                clear(page)
                times += stroke_times(page, DIGITS[digit])
            print(
                "view %-3s median %.3f s  (%s)"
                % ("on" if on else "off", statistics.median(times), " ".join("%.2f" % t for t in times))
            )
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    main(parser.parse_args())
