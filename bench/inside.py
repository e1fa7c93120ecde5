"""How long each view of the Inside page (and the Draw page's "Why this answer?") takes to render
for the shipped 784-800-800-10 model: the whole page script run headless with Streamlit's AppTest,
first with empty caches (what a visitor waits for the first time) and then again.

    python bench/inside.py [--rounds 3]

Prints the median over the rounds of each, in seconds; the aim is under 1 s a view.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from strokes import one_png  # noqa: E402

VIEWS = ["What the neurons look for", "Where it fails", "How far to trust it", "How robust it is", "Models side by side"]


def timed(action):
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def round_of_views():
    """Seconds for each view: (first render, render again)."""
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/inside_page.py").run()  # loads the model and MNIST once, as any first visit does
    times = {}
    for view in VIEWS:
        first = timed(lambda: at.radio(key="inside_view").set_value(view).run())
        again = timed(lambda: at.run())
        assert not at.exception, view
        times[view] = (first, again)
    at.switch_page("pages/draw_page.py").run()
    at.radio(key="input_mode").set_value("Upload a picture").run()
    uploader = next(u for u in at.get("file_uploader") if u.key == "upload")
    uploader.upload("one.png", one_png(), "image/png").run()
    times["Draw: Why this answer?"] = (timed(lambda: at.toggle(key="why").set_value(True).run()),
                                       timed(lambda: at.selectbox(key="why_digit").set_value(7).run()))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [round_of_views() for _ in range(args.rounds)]
    print("%-36s %12s %12s" % ("view (shipped model, 784-800-800-10)", "first (s)", "again (s)"))
    for view in rounds[0]:
        first = statistics.median(r[view][0] for r in rounds)
        again = statistics.median(r[view][1] for r in rounds)
        print("%-36s %12.2f %12.2f" % (view, first, again))


if __name__ == "__main__":
    main()
