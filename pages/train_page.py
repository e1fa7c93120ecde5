"""Train page: set the hyperparameters, train in the background (from scratch, or fine-tuning a
saved model, on MNIST, pen-drawn digits and the drawings kept here), watch every run's curves
together, pause, change the rate mid-run, save the model.

Settings stay put: they survive a trip to another page (``remember``) and live in the address's
query string, so that a reload keeps them and a link shares them."""

import streamlit as st

from pages._models import saved_names
from pages._people import current_job
from pages._widgets import keep, remember
from pages._train_data import training_data
from pages._train_results import results, runs_table
from pages._train_runs import controls, live_view
from pages._train_settings import DEFAULT, NEW, from_address, settings, to_address

st.title("Train a network")
st.caption("The settings (layers, epochs, rate, ...) are in the sidebar on the left; on a phone, open it with the "
           "**>** at the top left.", help="the sidebar folds away on narrow screens")
remember({**dict.fromkeys(DEFAULT), "start_from": [NEW] + saved_names()}, first_visit=from_address)
job = current_job()
with st.sidebar:
    st.header("Hyperparameters")
    plan = settings(locked=job is not None and job.running)
keep(DEFAULT)
to_address()
if "refused" in st.session_state:
    st.warning("These settings in the address were not understood and are left as they were: %s."
               % ", ".join(st.session_state.pop("refused")))
dataset = training_data()
job = controls(plan, dataset, job)
running = job is not None and job.running
st.fragment(live_view, run_every=1.0 if running else None)()
if job is not None and not job.running:
    results(job)
runs_table()
