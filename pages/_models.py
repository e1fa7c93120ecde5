"""The models a page offers (not a page): the saved ones (``models.model_store``: the weights
folder, and the class's database when there is one), each loaded once per server and version, and
the person's network training now, as a "Model" picker."""

import streamlit as st

from nn_core import data
from nn_core.models import ModelsError, QuotaError, model_store
from nn_core.storage import ModelFileError, list_models
from nn_core.words import counted
from pages._people import current_job
from pages._widgets import plain


@st.cache_resource(show_spinner="Loading MNIST ...")
def why_not_saved(exc):
    """Why a model was not saved, and for a full quota where models are deleted (nn_core's
    messages name no page)."""
    where = " Models are deleted on the Inside page, under Models side by side." if isinstance(exc, QuotaError) else ""
    return "%s.%s" % (str(exc).rstrip("."), where)


def mnist(folder):
    """The MNIST data set, loaded once per server (read-only arrays shared by every user)."""
    return data.load_mnist(folder)


@st.cache_resource(max_entries=16)
def cached_model(name, version):
    """A saved model, loaded once per version (a model saved again under a name that was deleted
    is another version: ``version`` keys the cache)."""
    return model_store().load(name)


def get_model(name):
    """The saved model ``name``; ``ModelFileError`` or ``OSError`` (``ModelsError``) say why not."""
    return cached_model(name, model_version(name))


def model_version(name):
    """A key for caching what is computed from the saved model ``name``: a new one when it changes."""
    return model_store().version(name)


def saved_names():
    """The saved models' names; when the class's database cannot be reached, the weights folder's,
    with a warning saying why the others are missing."""
    try:
        return model_store().names()
    except ModelsError as exc:
        st.warning(plain("%s Only the models of this server's weights folder are offered until it is back." % exc))
        return list_models()


def free_name(prefix, start):
    """The first name ``prefix-N`` (N from ``start`` on) that no saved model has: the name a Save
    box suggests (names are shared by everyone on a server, so "my-model-1" is soon taken)."""
    taken = set(saved_names())
    n = max(1, start)
    while "%s-%d" % (prefix, n) in taken:
        n += 1
    return "%s-%d" % (prefix, n)


TRAINING_NOW = "The network training now"
OWN_RUN = "Your run: "  # a finished run is offered under its own name, after this (saved models' names have no spaces)


def own_run_option(job):
    """The picker's entry for the person's latest run: ``TRAINING_NOW`` while it trains or waits,
    its own name once it has ended, None while it has no network to show."""
    if job is None or not job.has_network:
        return None
    return TRAINING_NOW if job.running else OWN_RUN + job.label


def is_own_run(name):
    """Whether the picked ``name`` is the person's run rather than a saved model."""
    return name == TRAINING_NOW or (isinstance(name, str) and name.startswith(OWN_RUN))


def model_options():
    """The models a visitor can pick: the saved ones, and their own latest run once it has a network."""
    option = own_run_option(current_job())
    return saved_names() + ([option] if option else [])


def choose_model(key, help):
    """A "Model" picker of ``model_options``; returns ``(name, model)``, the model being this
    visitor's run (as it is now) for ``is_own_run`` names. Says so and stops the page when there is
    none or it cannot be read."""
    job = current_job()
    options = model_options()
    if st.session_state.get(key) == TRAINING_NOW and job is not None and not job.running and TRAINING_NOW not in options:
        st.session_state[key] = own_run_option(job)  # the run picked while it trained has ended: the same network, by its name
    if job is not None and job.running and TRAINING_NOW not in options:
        st.caption(
            "Your run %s: the network training now will be in this list after its first mini-batches."
            % ("waits for a free place" if job.queued else "is starting")
        )
    if not options:
        st.error(
            "No model found in the weights folder (weights/, or the folder NN_CORE_WEIGHTS_DIR names). Train one on the Train page."
        )
        st.stop()
    name = st.selectbox("Model", options, key=key, help=help)
    if is_own_run(name):
        done = len(job.history)
        if job.running:
            st.caption(
                "%s, as it was %s (still training); its answers improve as it learns."
                % (plain(job.label), "after epoch %d" % done if done else "a few mini-batches in")
            )
        else:
            st.caption("%s, your run that %s after %s." % (plain(job.label), job.status, counted(done, "epoch")))
        return name, job.model()
    try:
        return name, get_model(name)
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load model %r: %s" % (name, exc)))
        st.stop()
