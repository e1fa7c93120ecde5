"""How long each view of the Inside page (and the Draw page's "Why this answer?") takes to render
for the shipped 784-800-800-10 model: the whole page script run headless with Streamlit's AppTest,
first with empty caches (what a visitor waits for the first time) and then again.

Then the Draw page's "Your digit through the network", which is redrawn with every stroke: its
own work (the forward pass, the strongest pushes, the chart's spec and its tables) for the shipped
model and for a 784-1024-1024-1024-1024-10 one, and the Draw page's whole script with the view on
and off (the aim: under 0.1 s a stroke).

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
        first = timed(lambda: at.radio(key="inside_view").set_value(view).run())  # noqa: B023 (timed at once)
        again = timed(lambda: at.run())
        assert not at.exception, view
        times[view] = (first, again)
    at.switch_page("pages/draw_page.py").run()
    at.radio(key="input_mode").set_value("Upload a picture").run()
    uploader = next(u for u in at.get("file_uploader") if u.key == "upload")
    uploader.upload("one.png", one_png(), "image/png").run()
    times["Draw: Why this answer?"] = (
        timed(lambda: at.toggle(key="why").set_value(True).run()),
        timed(lambda: at.selectbox(key="why_digit").set_value(7).run()),
    )
    return times


def network_view_times(repeat=20):
    """Seconds per stroke of the network view's own work, per model; and of the Draw page's script."""
    import numpy as np

    from nn_core import explain
    from nn_core.model import Model
    from nn_core.network import init_params
    from nn_core.storage import WEIGHTS_DIR, load_model
    from pages import _network
    from strokes import one_png as picture

    wide = {"Dim": [784, 1024, 1024, 1024, 1024, 10], "Activs": ["relu"] * 4 + ["softmax"]}
    models = {
        "shipped 784-800-800-10": load_model(WEIGHTS_DIR / "default.npz"),
        "784-1024x4-10": Model(wide, init_params(wide, seed=0)),
    }
    image = np.random.default_rng(0).random(784).astype(np.float32) * (np.random.default_rng(1).random(784) > 0.8)
    times = {}
    for name, model in models.items():

        def once():
            outputs, links = explain.network_path(model, image, 3)  # noqa: B023 (timed in this iteration)
            _network.spec(outputs, links, 3)

        once()
        times[name] = statistics.median(timed(once) for _ in range(repeat))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.radio(key="input_mode").set_value("Upload a picture").run()
    next(u for u in at.get("file_uploader") if u.key == "upload").upload("one.png", picture(), "image/png").run()
    for on in (True, False):
        at.toggle(key="network").set_value(on).run()
        times["Draw page script, view %s" % ("on" if on else "off")] = statistics.median(timed(at.run) for _ in range(repeat))
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
    print("\nYour digit through the network, per stroke (median of 20)")
    for what, seconds in network_view_times().items():
        print("  %-34s %8.3f s" % (what, seconds))


if __name__ == "__main__":
    main()
