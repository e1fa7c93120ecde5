"""Train page: set the hyperparameters, train in the background (from scratch, or fine-tuning a
saved model, on MNIST, pen-drawn digits and the drawings kept here), watch every run's curves
together, pause, change the rate mid-run, save the model.

Settings stay put: they survive a trip to another page (``remember``) and live in the address's
query string, so that a reload keeps them and a link shares them. While the person's run trains or
waits, the sidebar shows that run's settings (``follow``), greyed but for the rate and lamda; the
buttons, progress and charts are one fragment drawn again every second from the run's state. While
the person's sweep is under way, the sidebar and the Sweep tab's form show the sweep's settings
(``follow_sweep``, ``_sweep_form.follow``), the sidebar greyed likewise.

Three tabs: "One run" (the above), "Sweep" (many runs at once, one or two settings varied:
pages/_sweep.py) and "All runs" (every finished run on this server: pages/_class_runs.py). The
rate finder's button sits under the rate slider, its chart above the tabs (pages/_rate_finder.py).
Only the open tab is drawn; which one is open, and the sweep's choices, are in the address too."""

from functools import partial

import streamlit as st

from pages import _rate_finder, _sweep, _sweep_form
from pages._class_runs import class_tab
from pages._models import saved_names
from pages._people import my_runs
from pages._train_data import training_data
from pages._train_results import results, runs_table
from pages._train_runs import IDLE_EVERY, LIVE_EVERY, live_view
from pages._train_settings import DEFAULT, NEW, follow, follow_sweep, from_address, settings, to_address
from pages._widgets import KEPT, keep, remember

TABS = {"One run": None, "Sweep": "sweep", "All runs": "all"}  # each tab, and its name in the address (``tab``)


def first_tab(going_sweep):
    """The tab a visit opens on: the one it was on (another page visited meanwhile), else the
    address's, else the Sweep tab while a sweep of the person's is under way."""
    if "train_tab" in st.session_state:
        return
    named = {v: k for k, v in TABS.items() if v}.get(st.query_params.get("tab"))
    st.session_state.train_tab = st.session_state.get(KEPT + "train_tab") or named or ("Sweep" if going_sweep else "One run")


st.title("Train a network")
st.caption(
    "The settings (layers, epochs, rate, ...) are in the sidebar on the left; on a phone, open it with the "
    "button at the top left.",
    help="the sidebar folds away on narrow screens",
)
remember({**dict.fromkeys(DEFAULT), "start_from": [NEW] + saved_names()}, first_visit=from_address)
runs = my_runs()
job = runs[-1] if runs else None
going = job is not None and job.running
follow(job)
sweeping = _sweep.going()
sweeps = sweeping is not None
follow_sweep(sweeping)
first_tab(sweeps)
with st.sidebar:
    st.header("Hyperparameters")
    plan = settings(locked=going or sweeps, beside_rate=partial(_rate_finder.button, sweeping=sweeps), sweeping=sweeps)
keep(DEFAULT)
_sweep_form.restore()
_sweep_form.follow(sweeping)
if "refused" in st.session_state:
    st.warning(
        "These settings in the address were not understood and are left as they were: %s."
        % ", ".join(st.session_state.pop("refused"))
    )
dataset = training_data()
_rate_finder.panel(plan, dataset)
one, sweep, everyone = st.tabs(list(TABS), key="train_tab", on_change="rerun")
keep(["train_tab"])
if one.open:
    with one:
        if sweeps:
            st.info(
                "Your sweep is under way (see the Sweep tab): a run can start once it has ended.", icon=":material/grid_view:"
            )
            st.fragment(_sweep.until_ended, run_every=_sweep.LIVE_EVERY)()  # Start comes back as soon as it ends
        st.session_state.sweep_busy = sweeps  # (One run's Start waits for the sweep's end)
        st.session_state.drawn_going = job.id if going else None  # the fragment draws the whole page again when this changes
        st.fragment(live_view, run_every=LIVE_EVERY if going else IDLE_EVERY)(plan, dataset)
        if job is not None and not going:
            results(job)
        runs_table()
if sweep.open:
    with sweep:
        _sweep.sweep_tab(plan, dataset, run_going=going)
if everyone.open:
    with everyone:
        class_tab()
tab = st.session_state.get("train_tab", "One run")  # (written last: the Sweep tab's choices are known once it is drawn)
to_address(({"tab": TABS[tab]} if TABS.get(tab) else {}) | (_sweep_form.address() if tab == "Sweep" else {}))
