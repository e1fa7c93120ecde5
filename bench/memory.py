"""The server's memory over many runs: does what visitors' runs leave behind come back?

Starts `streamlit run app.py` on 127.0.0.1 (loopback only, bounded), then, one visitor after
another, a real Chromium page opens the Train page for a one-epoch run on all of MNIST, presses
Start, waits for its results and closes. Printed: the server's resident memory (RSS, from
/proc; the runs train in its Dask workers, whose memory is printed beside it) at the start, after each run, after the last visitor has gone, and a little over a
minute and over three minutes later (the server collects garbage once a minute, off the page
runs; Streamlit may drop a closed tab's session two minutes after it went, but keeps up to 128
of them until it stores a new one), and after one more visitor, with the growth against the
start. The issue this answers measured 383 -> 4,088 MB for 20 such runs.

    python bench/memory.py [--runs 20] [--epochs 1]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM, CHROMIUM_ARGS, SERVERS, running_app  # noqa: E402


def rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def workers_mb(pid):
    """The resident memory of the server's training workers (the embedded Dask cluster's
    processes, its children), added up."""
    import subprocess

    children = [
        int(c) for c in subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    ]
    return sum(rss_mb(c) for c in children if Path("/proc/%d" % c).exists())


def one_run(browser, url, epochs):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(300_000)
    page.goto(url + "/train?epochs=%d" % epochs)
    start = page.get_by_role("button", name="Start", exact=True)
    start.wait_for()
    page.get_by_text("About").first.wait_for()
    start.click()
    page.get_by_text("Test accuracy").wait_for()
    context.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, running_app(Path(folder)) as url, sync_playwright() as p:
        pid = SERVERS[url].pid
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # One visit first, so that the start is the server with its pages loaded, not a bare process.
        page = browser.new_page()
        page.goto(url + "/train")
        page.get_by_role("button", name="Start", exact=True).wait_for()
        page.close()
        start = rss_mb(pid)
        print("server RSS at the start: %.0f MB" % start, flush=True)
        began = time.time()
        for i in range(args.runs):
            one_run(browser, url, args.epochs)
            print(
                "after run %2d: %.0f MB, its training workers %.0f MB (%.0f s)"
                % (i + 1, rss_mb(pid), workers_mb(pid), time.time() - began),
                flush=True,
            )
        gone = rss_mb(pid)
        time.sleep(75)
        minute = rss_mb(pid)
        time.sleep(125)  # Streamlit may forget a closed tab's session 120 s after it went ...
        later = rss_mb(pid)
        print(
            "every visitor gone: %.0f MB; 75 s later: %.0f MB; 200 s later: %.0f MB; growth over %d runs: %+.0f MB "
            "(its training workers: %.0f MB)" % (gone, minute, later, args.runs, later - start, workers_mb(pid)),
            flush=True,
        )
        # ... but it keeps up to 128 of them until a new session is stored: one more visitor.
        page = browser.new_page()
        page.goto(url)
        page.locator("canvas").last.wait_for()
        page.close()
        browser.close()
        time.sleep(65)
        print("one new visitor later, and a minute: %.0f MB (%+.0f MB)" % (rss_mb(pid), rss_mb(pid) - start))


if __name__ == "__main__":
    main()
