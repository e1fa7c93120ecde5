"""Streamlit helpers both pages share (not a page): cached data and models, the user's training job."""

import streamlit as st

from nn_core import data
from nn_core.storage import load_model, model_path


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


def current_job():
    """This user's training job (running or finished), or None."""
    return st.session_state.get("job")


def through_app(page):
    """Make sure the page runs inside app.py's navigation.

    Until app.py has run once, Streamlit still honours its older convention of running a script
    from pages/ directly when its address is opened (say /train on a freshly started server):
    send such a visitor through app.py, which then shows the page that was asked for.
    """
    if not st.session_state.get("through_app"):
        st.switch_page("app.py", query_params={"page": page})


if __name__ == "__main__":  # opened as a page by that same older convention
    st.switch_page("app.py")
