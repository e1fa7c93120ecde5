"""A class at once: 30 students drawing, correcting and training on this machine.

Two setups, one after the other, everything on 127.0.0.1 and bounded:

1. **A class's servers**: a throwaway PostgreSQL server (Debian's binaries, as the tests start
   it), one ``dask scheduler`` with 2 workers, and 2 app servers (``streamlit run app.py``) on that
   database and scheduler; students go to one server or the other, as a proxy with sticky sessions
   sends them.
2. **The defaults**: one app server, its SQLite files and its embedded ``LocalCluster``.

Each student is a replayed page (as ``bench/load.py`` does: a websocket client sending, message
for message, what a real Chromium page sent, recorded first on a server of its own) with an id of
its own in the cookie: it draws 10 digits, corrects 3 of them (a click on "No, it is a ..."),
then opens the Train page and starts one short run (3 epochs, 5,000 images), and watches it
until its results show. The 30 students arrive within one minute.

Printed for each setup: the server's part of each answer to a stroke (from the canvas's message to
the "what the network sees" picture fetched; median and 95th percentile), the corrections stored
(must be exactly 90, none twice), the runs finished (must be 30) and whether the workers took them
in the order they were asked for, the wait of the last run for a worker, and each app server's
largest memory (RSS).

    python bench/class.py [--students 30] [--arrive 60] [--only class|defaults]
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import pgserver  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, SERVERS, dask_scheduler, running_app  # noqa: E402
from load import quantiles, rerun_messages, start_clicked, visitor_draws, visitor_trains  # noqa: E402

DIGITS_DRAWN = 10
CORRECTED = (1, 4, 7)  # the digits each student corrects (clicks another digit under the answer)
TRAIN_ADDRESS = "/train?epochs=3&n_train=5000"
COOKIE = "digit_studio_visitor"


# -- recording one student in Chromium -------------------------------------------------------------
async def record_student(url):
    """A Chromium page draws the 10 digits, corrects 3, then starts the short run; returns the
    messages it sent to the server on the Draw page and on the Train page."""
    from playwright.async_api import async_playwright

    from load import drawer, recording

    draw_sent, train_sent = [], []

    async def correct(page, digit):
        await page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=60_000)
        if digit in CORRECTED:
            label = (digit + 1) % 10
            await page.get_by_test_id("stButtonGroup").get_by_role("radio", name=str(label), exact=True).click()
            await page.get_by_text("Kept as a %d" % label).wait_for(timeout=30_000)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await drawer(browser, url, DIGITS_DRAWN, [], [], sent=draw_sent, after_digit=correct)
        context = await browser.new_context(viewport={"width": 1300, "height": 1000})
        page = await context.new_page()
        recording(page, train_sent)
        page.set_default_timeout(120_000)
        await page.goto(url + TRAIN_ADDRESS)
        start = page.get_by_role("button", name="Start", exact=True)
        await start.wait_for()
        await page.get_by_test_id("stStatusWidget").wait_for(state="hidden")
        await start.click()
        await page.get_by_text("Results of run").wait_for(timeout=300_000)
        await browser.close()
    return draw_sent, train_sent


# -- the students, replayed ------------------------------------------------------------------------
async def student(url, draws, trains, arrive, answers, lost):
    """One student: arrives, draws and corrects (the server's part of each answer in ``answers``),
    then starts a run and watches it until its results show; returns the student's id."""
    await asyncio.sleep(arrive)
    me = uuid.uuid4().hex
    cookie = "%s=%s" % (COOKIE, me)  # one person on both pages, as a browser keeping its cookie
    await visitor_draws(url, draws, answers, lost, cookie)
    await visitor_trains(url, trains, 3, cookie)
    return me


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Peaks(threading.Thread):
    """The largest RSS of each app server, sampled every half second."""

    def __init__(self, urls):
        super().__init__(daemon=True)
        self.peaks = {url: 0.0 for url in urls}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            for url in self.peaks:
                self.peaks[url] = max(self.peaks[url], rss_mb(SERVERS[url].pid))
            self.done.wait(0.5)


async def a_class(urls, draws, trains, args):
    """The students, spread over ``urls`` in turn; returns their ids and the answer times."""
    answers, lost = [], []
    peaks = Peaks(urls)
    peaks.start()
    began = time.time()
    students = [
        student(urls[k % len(urls)], draws, trains, k * args.arrive / args.students, answers, lost) for k in range(args.students)
    ]
    ids = await asyncio.gather(*students)
    peaks.done.set()
    peaks.join()
    return ids, answers, lost, peaks.peaks, time.time() - began


def report(title, where_drawings, where_runs, ids, answers, lost, peaks, seconds, args):
    from nn_core.drawings import DrawingStore
    from nn_core.runs import RunStore

    median, p95, worst = quantiles(answers)
    kept = [d for d in DrawingStore(where_drawings).drawings() if d.owner in set(ids)]
    distinct = {(d.owner, d.label, d.image.tobytes()) for d in kept}
    store = RunStore(where_runs)
    records = sorted((r for me in ids for r in store.runs_of(me)), key=lambda r: r.seq)
    finished = [r for r in records if r.status == "finished"]
    began = [r.began for r in records if r.began is not None]
    # A run taken before one asked for earlier, and by how much (two free workers take two runs
    # in the same instant, in either order: a few milliseconds are not a run jumping the queue).
    leads = [max(began[:k]) - b for k, b in enumerate(began) if k and b < max(began[:k])]
    out_of_order = sum(1 for lead in leads if lead > args.same_instant)
    last = records[-1] if records else None
    waits = [r.began - r.submitted for r in records if r.began is not None]
    print("\n%s (%d students arriving within %d s; %.0f s in all)" % (title, args.students, args.arrive, seconds))
    print(
        "  the server's part of an answer to a stroke: median %.3f s, 95th percentile %.3f s, max %.3f s; "
        "%d answered, %d lost" % (median, p95, worst, len(answers), len(lost))
    )
    print("  corrections stored: %d (expected %d), %d distinct" % (len(kept), len(CORRECTED) * args.students, len(distinct)))
    print(
        "  runs finished: %d of %d; taken by the workers in the order asked: %s%s"
        % (
            len(finished),
            len(records),
            "yes"
            if out_of_order == 0
            else "no (%d taken more than %g s before an earlier one)" % (out_of_order, args.same_instant),
            "" if not leads else " (%d pairs taken in the same instant, at most %.0f ms apart)" % (len(leads), 1000 * max(leads)),
        )
    )
    if last is not None and last.began is not None:
        print(
            "  the last run waited %.1f s for a worker (longest wait %.1f s, median %.1f s); "
            "its results %.1f s after it was asked for"
            % (last.began - last.submitted, max(waits), statistics.median(waits), (last.ended or last.began) - last.submitted)
        )
    print("  app servers' largest RSS: %s" % ", ".join("%.0f MB" % mb for mb in peaks.values()))
    return {
        "p95": p95,
        "median": median,
        "corrections": len(kept),
        "distinct": len(distinct),
        "finished": len(finished),
        "out_of_order": out_of_order,
        "last_wait": None if last is None or last.began is None else last.began - last.submitted,
        "rss_mb": list(peaks.values()),
    }


async def main(args):
    tmp = Path(tempfile.mkdtemp(prefix="nn-core-class-"))
    (tmp / "recording").mkdir()
    with running_app(tmp / "recording") as url:
        draw_sent, train_sent = await record_student(url)
    draws = rerun_messages(draw_sent)
    trains = start_clicked(rerun_messages(train_sent))
    print(
        "Recorded one student: %d strokes and %d corrections on the Draw page, %d messages to start a run"
        % (sum(drawing for _, _, drawing in draws), len(CORRECTED), len(trains))
    )
    results = {}
    if args.only in (None, "class"):
        server = pgserver.PostgresServer(durable=True).init().start()  # commits wait for the disk, as on a real server
        try:
            env = {"NN_CORE_DATABASE_URL": server.url}
            (tmp / "a").mkdir()
            (tmp / "b").mkdir()
            with dask_scheduler(tmp, workers=2) as scheduler:
                env["NN_CORE_DASK_ADDRESS"] = scheduler
                with running_app(tmp / "a", **env) as first, running_app(tmp / "b", **env) as second:
                    out = await a_class([first, second], draws, trains, args)
                    results["class"] = report(
                        "A class's servers: PostgreSQL, a scheduler with 2 workers, 2 app servers",
                        server.url,
                        server.url,
                        *out,
                        args,
                    )
        finally:
            from nn_core.database import close_pools

            close_pools()
            server.remove()
    if args.only in (None, "defaults"):
        (tmp / "one").mkdir()
        with running_app(tmp / "one") as url:
            out = await a_class([url], draws, trains, args)
            results["defaults"] = report(
                "The defaults: one app server, SQLite, its embedded LocalCluster",
                str(tmp / "one" / "drawings.sqlite"),
                str(tmp / "one" / "runs.sqlite"),
                *out,
                args,
            )
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--arrive", type=float, default=60.0, help="seconds within which the students arrive")
    parser.add_argument("--only", choices=["class", "defaults"], help="one of the two setups (default: both)")
    parser.add_argument(
        "--same-instant",
        type=float,
        default=0.25,
        help="seconds within which two runs taken by two workers count as taken together",
    )
    os.environ.pop("NN_CORE_DATABASE_URL", None)
    asyncio.run(main(parser.parse_args()))
