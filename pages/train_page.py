"""Train page: set the hyperparameters, train in the background (from scratch, or fine-tuning a
saved model, on MNIST, pen-drawn digits and the drawings kept here), watch every run's curves
together, pause, change the rate mid-run, save the model.

Settings stay put: they survive a trip to another page (``remember``) and live in the address's
query string, so that a reload keeps them and a link shares them. While the person's run trains or
waits, the sidebar shows that run's settings (``follow``), greyed but for the rate and lamda; the
buttons, progress and charts are one fragment drawn again every second from the run's state."""

import streamlit as st

from pages._models import saved_names
from pages._people import my_runs
from pages._train_data import training_data
from pages._train_results import results, runs_table
from pages._train_runs import IDLE_EVERY, LIVE_EVERY, live_view
from pages._train_settings import DEFAULT, NEW, follow, from_address, settings, to_address
from pages._widgets import keep, remember

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
with st.sidebar:
    st.header("Hyperparameters")
    plan = settings(locked=going)
keep(DEFAULT)
to_address()
if "refused" in st.session_state:
    st.warning(
        "These settings in the address were not understood and are left as they were: %s."
        % ", ".join(st.session_state.pop("refused"))
    )
dataset = training_data()
st.session_state.drawn_going = job.id if going else None  # the fragment draws the whole page again when this changes
st.fragment(live_view, run_every=LIVE_EVERY if going else IDLE_EVERY)(plan, dataset)
if job is not None and not going:
    results(job)
runs_table()
