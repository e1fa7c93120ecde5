"""The app under load, in a real browser: pages drawing while networks train.

Starts `streamlit run app.py` on 127.0.0.1 and drives Debian's Chromium (Playwright): first one
training run alone, for its seconds per epoch; then 2 runs training while 8 pages each draw digits
stroke by stroke. The browser shares the server's two cores
here, where visitors' browsers would run on their own machines: the figures are a bound. Prints the median and 95th percentile time from mouse-up to the updated
"what the network sees" picture, how many strokes were answered, and each run's seconds per epoch
against the run alone. Bounded: a fixed number of strokes and epochs, loopback only.

    python bench/load.py [--pages 8] [--runs 2] [--digits 5] [--epochs 3]
"""

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from strokes import DIGITS, INK, SEEN, densify  # noqa: E402


async def inked(page, points, before, seconds=3.0):
    """Wait until more of the stroke's ``points`` show ink than ``before`` (the stroke was taken)."""
    deadline = time.time() + seconds
    while await page.locator("canvas").evaluate_all(INK, points) <= before:
        if time.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def seen_src(page):
    image = page.get_by_test_id("stImage").filter(has_text="What the network sees").locator("img")
    return await image.get_attribute("src") if await image.count() else None


async def drawer(browser, url, n_digits, times, lost):
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await context.new_page()
    await page.goto(url)
    await page.locator("canvas").last.wait_for(timeout=60_000)
    for digit in list(DIGITS)[:n_digits]:
        old = await page.locator("canvas").last.element_handle()
        await page.get_by_role("button", name="Clear").click()
        await page.get_by_text("Draw a digit in the box").wait_for(timeout=60_000)
        await page.wait_for_function("old => !old.isConnected", arg=old, timeout=60_000)
        await page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=60_000)
        for stroke in DIGITS[digit]:
            points = [list(p) for p in densify(stroke)]
            for attempt in range(5):
                canvas = page.locator("canvas").last
                await canvas.wait_for(timeout=60_000)
                box = await canvas.bounding_box()
                before = await seen_src(page)
                ink = await page.locator("canvas").evaluate_all(INK, points)
                await page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
                await page.mouse.down()
                for x, y in points[1:]:
                    await page.mouse.move(box["x"] + x, box["y"] + y)
                start = time.perf_counter()
                await page.mouse.up()
                try:
                    await page.wait_for_function(SEEN, arg=before, timeout=5_000, polling=50)
                except Exception:
                    # No answer yet. Only if the canvas did not take the stroke (it was not ready
                    # for the mouse) is it drawn again; else the app is slow: keep waiting.
                    if not await inked(page, points, ink, seconds=0.5):
                        continue
                    try:
                        await page.wait_for_function(SEEN, arg=before, timeout=25_000, polling=50)
                    except Exception:
                        lost.append(digit)
                        break
                times.append(time.perf_counter() - start)
                break
    await context.close()


async def trainer(browser, url, epochs):
    """One Train page run of ``epochs`` epochs with the default settings; its seconds per epoch."""
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(600_000)
    await page.goto(url + "/train")
    thumb = page.get_by_test_id("stSlider").filter(has_text="epochs").get_by_role("slider")
    await thumb.focus()
    await thumb.press("Home")
    for _ in range(epochs - 1):
        await thumb.press("ArrowRight")
    value = page.get_by_test_id("stSlider").filter(has_text="epochs").get_by_test_id("stSliderThumbValue")
    while (await value.inner_text()).strip() != str(epochs):
        await asyncio.sleep(0.1)
    await page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
    await page.get_by_role("button", name="Start", exact=True).click()
    await page.get_by_text(re.compile(r"Results of run")).wait_for()
    text = await page.get_by_test_id("stMetric").filter(has_text="Training time").get_by_test_id("stMetricValue").inner_text()
    await context.close()
    return float(text.rstrip(" s")) / epochs


async def main(args):
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp)) as url:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            alone_times, alone_lost = [], []
            await drawer(browser, url, args.digits, alone_times, alone_lost)
            solo = await trainer(browser, url, args.epochs)
            times, lost = [], []
            results = await asyncio.gather(*[trainer(browser, url, args.epochs) for _ in range(args.runs)],
                                           *[drawer(browser, url, args.digits, times, lost) for _ in range(args.pages)])
            await browser.close()
    loaded = results[: args.runs]
    q = statistics.quantiles(times, n=20, method="inclusive") if len(times) >= 2 else [float("nan")] * 19
    print("one page drawing alone: median %.2f s from mouse-up to the answer (%d strokes)" % (statistics.median(alone_times), len(alone_times)))
    print("%d pages drawing while %d runs train: median %.2f s, 95th percentile %.2f s, max %.2f s; %d answered, %d lost"
          % (args.pages, args.runs, statistics.median(times), q[18], max(times), len(times), len(lost)))
    print("seconds per epoch: alone %.1f s; under load %s (%s of the solo speed)"
          % (solo, ", ".join("%.1f s" % s for s in loaded), ", ".join("%.0f%%" % (100 * solo / s) for s in loaded)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--digits", type=int, default=5, help="digits each page draws")
    parser.add_argument("--epochs", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
