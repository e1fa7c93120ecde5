"""The app under load: pages drawing while networks train.

Starts `streamlit run app.py` on 127.0.0.1. Loopback only, and bounded: a fixed number of
strokes and epochs. It measures two ways.

1. **Visitors' own machines** (the default; ``--only visitors``). In a class, each visitor's
   browser runs on that visitor's machine; the server's cores only run the page scripts and the
   training. So the 8 pages here are websocket clients that send, message for message, what a
   real Chromium page sent while it drew the digits (recorded first, on a page of its own), and
   that fetch the "what the network sees" picture as a browser does. The runs are Train pages
   replayed the same way, refreshed every second as a browser refreshes them. Printed: the
   server's part of an answer (from the canvas's message to the picture fetched), and what a
   visitor waits in all: the canvas's own 0.2 s wait after the pen lifts, the server's part,
   and drawing the answer (measured with a single browser page). The replayed pages start
   together and keep the recorded pace, so their strokes reach the server at the same moments:
   a harder load than people drawing each at their own pace.
2. **Browsers on this machine** (``--only browsers``): 8 Chromium pages drawing with the mouse
   while 2 runs train from Chromium pages, all on the server's own cores, as the load issue first
   measured it. From mouse-up to the updated picture; a bound, not what a class sees.

For both: each run's seconds per epoch against the same run alone.

    python bench/load.py [--pages 8] [--runs 2] [--digits 5] [--epochs 3] [--only visitors|browsers]
"""

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from strokes import DIGITS, INK, SEEN, densify  # noqa: E402

CANVAS_WAIT = 0.2  # the canvas sends a drawing 200 ms after the last change (streamlit-drawable-canvas 0.13)
SEEN_CAPTION = "What the network sees"
TIMEOUT = 600  # seconds: the longest wait for one page run or one training run


# -- Chromium pages ----------------------------------------------------------------------------
async def inked(page, points, before, seconds=3.0):
    """Wait until more of the stroke's ``points`` show ink than ``before`` (the stroke was taken)."""
    deadline = time.time() + seconds
    while await page.locator("canvas").evaluate_all(INK, points) <= before:
        if time.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def seen_src(page):
    image = page.get_by_test_id("stImage").filter(has_text=SEEN_CAPTION).locator("img")
    return await image.get_attribute("src") if await image.count() else None


def recording(page, sent):
    """Keep in ``sent`` (time, bytes) every message ``page`` sends to the server."""
    page.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda f: sent.append((time.monotonic(), f if isinstance(f, bytes) else f.encode()))),
    )


async def drawer(browser, url, n_digits, times, lost, sent=None, after_digit=None):
    """A Chromium page drawing ``n_digits`` digits stroke by stroke: the time from each mouse-up
    to the answer in ``times``; ``after_digit(page, digit)``, if given, once each digit is drawn."""
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await context.new_page()
    if sent is not None:
        recording(page, sent)
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
            for _attempt in range(5):
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
        if after_digit is not None:
            await after_digit(page, digit)
    await context.close()


async def trainer(browser, url, epochs, sent=None):
    """One Train page run of ``epochs`` epochs with the default settings; its seconds per epoch."""
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await context.new_page()
    if sent is not None:
        recording(page, sent)
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
    return seconds_per_epoch(text, epochs)


def seconds_per_epoch(training_time, epochs):
    return float(training_time.rstrip(" s")) / epochs


# -- visitors replayed over the websocket ----------------------------------------------------------
class Visitor:
    """One page open on the app, without a browser: a websocket client that sends what a real page
    sent (``BackMsg`` bytes), reruns the page's auto-refreshing fragments as a browser does, and
    reads the answers (``ForwardMsg``). ``cookie`` ("name=value") is sent as a browser keeping it would."""

    def __init__(self, url, cookie=None):
        self.url, self.cookie = url, cookie
        self.finished = asyncio.Event()
        self.images, self.metrics = [], {}
        self.state = None  # the last client state sent (widget values), for fragment reruns
        self.refresh = None

    async def __aenter__(self):
        import websockets

        self.ws = await websockets.connect(
            self.url.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],
            max_size=None,
            additional_headers={"Cookie": self.cookie} if self.cookie else None,
        )
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc):
        for task in (self.refresh, self.reader):
            if task is not None:
                task.cancel()
        await self.ws.close()

    async def send(self, raw):
        """Send one recorded message (a rerun of the page) and wait until its run has finished;
        the pictures it showed are then in ``images`` as (caption, url)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.ParseFromString(raw)
        del msg.rerun_script.cached_message_hashes[:]  # this client keeps no message cache: send them all
        self.state = msg.rerun_script
        self.images = []
        self.finished.clear()
        await self.ws.send(msg.SerializeToString())
        await asyncio.wait_for(self.finished.wait(), TIMEOUT)

    async def _read(self):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for raw in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                if element.WhichOneof("type") == "imgs":
                    self.images += [(i.caption, i.url) for i in element.imgs.imgs]
                elif element.WhichOneof("type") == "metric":
                    self.metrics[element.metric.label] = element.metric.body
            elif kind == "script_finished":
                self.finished.set()
            elif kind == "auto_rerun":
                if self.refresh is not None:
                    self.refresh.cancel()
                self.refresh = asyncio.create_task(self._refresh(msg.auto_rerun.interval, msg.auto_rerun.fragment_id))
            elif kind == "stop_auto_rerun" and self.refresh is not None:
                self.refresh.cancel()
                self.refresh = None

    async def _refresh(self, interval, fragment_id):
        from streamlit.proto.BackMsg_pb2 import BackMsg

        while True:
            await asyncio.sleep(interval)
            msg = BackMsg()
            msg.rerun_script.CopyFrom(self.state)
            msg.rerun_script.fragment_id = fragment_id
            msg.rerun_script.is_auto_rerun = True
            await self.ws.send(msg.SerializeToString())

    async def fetch(self, path):
        """GET ``path`` from the server (a picture the page shows), as the browser does."""

        def get():
            with urllib.request.urlopen(self.url + path, timeout=60) as r:
                return r.read()

        return await asyncio.to_thread(get)


def rerun_messages(sent):
    """The recorded messages that rerun a whole page (not a fragment's refreshes), with the seconds
    since the one before, and whether each carries a new drawing (the canvas changed: not a
    button, not a click on a correction)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    out, last, canvas = [], None, None
    for t, raw in sent:
        msg = BackMsg()
        msg.ParseFromString(raw)
        if msg.WhichOneof("type") != "rerun_script" or msg.rerun_script.fragment_id:
            continue
        widgets = msg.rerun_script.widget_states.widgets
        drawn = [w.json_value for w in widgets if '"data":"data:image/png' in w.json_value]
        clicked = any(w.WhichOneof("value") == "trigger_value" and w.trigger_value for w in widgets)  # Clear, not a stroke
        out.append((raw, 0.0 if last is None else t - last, not clicked and bool(drawn) and drawn[0] != canvas))
        canvas = drawn[0] if drawn else canvas
        last = t
    return out


async def visitor_draws(url, messages, times, lost, cookie=None):
    """Replay a recorded drawing page at its recorded pace; the server's part of each answer."""
    async with Visitor(url, cookie) as page:
        for raw, pause, drawing in messages:
            await asyncio.sleep(pause)
            start = time.perf_counter()
            await page.send(raw)
            if drawing:
                seen = [u for caption, u in page.images if caption.startswith(SEEN_CAPTION)]
                if not seen:
                    lost.append(raw)
                    continue
                await page.fetch(seen[0])
                times.append(time.perf_counter() - start)


async def visitor_trains(url, messages, epochs, cookie=None):
    """Replay a recorded Train page up to its Start click; its seconds per epoch once it is done."""
    async with Visitor(url, cookie) as page:
        for raw, _pause, _drawing in messages:
            await page.send(raw)
        deadline = time.monotonic() + TIMEOUT
        while "Training time" not in page.metrics:
            if time.monotonic() > deadline:
                raise RuntimeError("the replayed run showed no results within %d s" % TIMEOUT)
            await asyncio.sleep(0.2)
        return seconds_per_epoch(page.metrics["Training time"], epochs)


def start_clicked(messages):
    """The recorded Train page messages up to and including the one that clicked Start (a button
    press is the only ``trigger_value`` it sends)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    for n, (raw, _, _) in enumerate(messages):
        msg = BackMsg()
        msg.ParseFromString(raw)
        if any(w.WhichOneof("value") == "trigger_value" and w.trigger_value for w in msg.rerun_script.widget_states.widgets):
            return [(raw, 0.0, drawing) for raw, _, drawing in messages[: n + 1]]
    raise RuntimeError("the recorded Train page never clicked Start")


# -- the two measurements --------------------------------------------------------------------------
def quantiles(times):
    q = statistics.quantiles(times, n=20, method="inclusive") if len(times) >= 2 else [float("nan")] * 19
    return statistics.median(times), q[18], max(times)


def report_runs(solo, loaded):
    print(
        "  seconds per epoch: alone %.1f s; under load %s (%s of the solo speed)"
        % (solo, ", ".join("%.1f s" % s for s in loaded), ", ".join("%.0f%%" % (100 * solo / s) for s in loaded))
    )


async def main(args):
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp)) as url:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            drawn, train_sent, alone_times, alone_lost = [], [], [], []
            await drawer(browser, url, args.digits, alone_times, alone_lost, sent=drawn)
            browser_solo = await trainer(browser, url, args.epochs, sent=train_sent)
            alone = statistics.median(alone_times)
            print(
                "One Chromium page drawing alone: median %.2f s from mouse-up to the answer (%d strokes)"
                % (alone, len(alone_times))
            )
            if args.only in (None, "visitors"):
                draws, trains = rerun_messages(drawn), start_clicked(rerun_messages(train_sent))
                one = []
                await visitor_draws(url, draws, one, [])
                server_alone = statistics.median(one)
                solo = await visitor_trains(url, trains, args.epochs)
                times, lost = [], []
                results = await asyncio.gather(
                    *[visitor_trains(url, trains, args.epochs) for _ in range(args.runs)],
                    *[visitor_draws(url, draws, times, lost) for _ in range(args.pages)],
                )
                median, p95, worst = quantiles(times)
                render = max(0.0, alone - CANVAS_WAIT - server_alone)  # the browser's own part, with one page
                print("\nVisitors on their own machines: %d pages drawing while %d runs train" % (args.pages, args.runs))
                print(
                    "  the server's part of an answer: median %.3f s, 95th percentile %.3f s, max %.3f s (alone: %.3f s); "
                    "%d answered, %d lost" % (median, p95, worst, server_alone, len(times), len(lost))
                )
                print(
                    "  from mouse-up, adding the canvas's %.1f s wait and %.2f s of drawing the answer: median %.2f s, "
                    "95th percentile %.2f s" % (CANVAS_WAIT, render, median + CANVAS_WAIT + render, p95 + CANVAS_WAIT + render)
                )
                report_runs(solo, results[: args.runs])
            if args.only in (None, "browsers"):
                times, lost = [], []
                results = await asyncio.gather(
                    *[trainer(browser, url, args.epochs) for _ in range(args.runs)],
                    *[drawer(browser, url, args.digits, times, lost) for _ in range(args.pages)],
                )
                median, p95, worst = quantiles(times)
                print(
                    "\nBrowsers on this machine: %d Chromium pages drawing while %d runs train from Chromium pages"
                    % (args.pages, args.runs)
                )
                print(
                    "  from mouse-up to the answer: median %.2f s, 95th percentile %.2f s, max %.2f s; %d answered, %d lost"
                    % (median, p95, worst, len(times), len(lost))
                )
                report_runs(browser_solo, results[: args.runs])
            await browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--digits", type=int, default=5, help="digits each page draws")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", choices=["visitors", "browsers"], help="one of the two measurements (default: both)")
    asyncio.run(main(parser.parse_args()))
