"""The models a page offers (not a page): loaded once per server and file version, and the
person's network training now, as a "Model" picker."""

import streamlit as st

from nn_core import data
from nn_core.storage import ModelFileError, list_models, load_model, model_path
from pages._people import current_job
from pages._widgets import plain


@st.cache_resource(show_spinner="Loading MNIST ...")
def mnist(folder):
    """The MNIST data set, loaded once per server (read-only arrays shared by every user)."""
    return data.load_mnist(folder)


@st.cache_resource(max_entries=16)
def cached_model(path, mtime):
    """A model file, loaded once per version of the file (``mtime`` keys the cache)."""
    return load_model(path)


def get_model(name):
    path = model_path(name)
    return cached_model(str(path), path.stat().st_mtime)


TRAINING_NOW = "The network training now"


def model_options():
    """The models a visitor can pick: the saved ones, and their own run once it has an epoch."""
    job = current_job()
    return list_models() + ([TRAINING_NOW] if job is not None and job.has_network else [])


def choose_model(key, help):
    """A "Model" picker of ``model_options``; returns ``(name, model)``, the model being this
    visitor's run (as it is now) for ``TRAINING_NOW``. Says so and stops the page when there is
    none or it cannot be read."""
    options = model_options()
    job = current_job()
    if job is not None and job.running and TRAINING_NOW not in options:
        st.caption("Your run %s: the network training now will be in this list after its first mini-batches."
                   % ("waits for a free place" if job.queued else "is starting"))
    if not options:
        st.error("No model found in the weights folder (weights/, or the folder NN_CORE_WEIGHTS_DIR names). Train one on the Train page.")
        st.stop()
    name = st.selectbox("Model", options, key=key, help=help)
    if name == TRAINING_NOW:
        job = current_job()
        done = len(job.history)
        st.caption("%s, as it was %s%s; its answers improve as it learns." % (
            plain(job.label), "after epoch %d" % done if done else "a few mini-batches in", " (still training)" if job.running else ""))
        return name, job.model()
    try:
        return name, get_model(name)
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load model %r: %s" % (name, exc)))
        st.stop()
