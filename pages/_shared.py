"""Streamlit helpers the pages share (not a page): cached data and models, the user's training
job, the visitor's anonymous id and the drawings database."""

import re
import uuid

import streamlit as st

from nn_core import data
from nn_core.drawings import DrawingStore
from nn_core.storage import ModelFileError, list_models, load_model, model_path
from pages import _server

_server.start()  # NumPy single-threaded in this process, and garbage collected off the page runs


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


VISITOR_COOKIE = "digit_studio_visitor"
VISITOR_PATTERN = re.compile(r"[0-9a-f]{32}")
# Sets the cookie from the browser's side (Streamlit reads cookies but has no way to set one):
# a year long, for this site only, never sent to another site, and never part of the address.
STORE_VISITOR = """<script>
document.cookie = "%s=%s; path=/; max-age=31536000; SameSite=Strict";
</script>"""


def visitor():
    """The anonymous id of the person at this browser: it marks their drawings, runs and saved
    models (no name, no address). It is kept in a cookie, so a reload or a new tab of the same
    browser is the same person, and a link sent to a friend shares settings, not the id."""
    if "visitor" not in st.session_state:
        kept = st.context.cookies.get(VISITOR_COOKIE, "")
        if isinstance(kept, str) and VISITOR_PATTERN.fullmatch(kept):  # (a stand-in runtime in tests has no cookies)
            st.session_state.visitor = kept
        else:
            st.session_state.visitor = uuid.uuid4().hex
            st.session_state.store_visitor = True
    return st.session_state.visitor


def store_visitor():
    """Give a browser that came without an id the one this session made (once per session)."""
    visitor()
    if st.session_state.pop("store_visitor", False):
        with st.sidebar:
            st.html(STORE_VISITOR % (VISITOR_COOKIE, st.session_state.visitor), unsafe_allow_javascript=True)


def drawing_store():
    """The drawings database (``NN_CORE_DRAWINGS_DB``); opened per use, so safe for every session."""
    return DrawingStore()


def once_per_upload(upload, key, work, errors):
    """``work(upload)`` once per uploaded file, not again on every rerun of the page (a stroke, a
    click); one of ``errors`` that it raises is returned instead of the result. ``key`` names the
    cache in Session State (one file a key)."""
    cache = st.session_state.setdefault(key, {})
    if upload.file_id not in cache:
        cache.clear()
        try:
            cache[upload.file_id] = work(upload)
        except errors as exc:
            cache[upload.file_id] = exc
    return cache[upload.file_id]


KEPT = "kept:"  # prefix of the copies ``remember`` keeps of widget values


def remember(choices, first_visit=None):
    """Give the widgets keyed ``choices`` (key -> the values allowed now, or None where any value
    its widget gave is still good) back the values they had when this visitor last saw them.
    Streamlit forgets a widget's value once a run of another page has not drawn it, so ``keep``
    stores a copy of each; a copy no longer allowed (a model since deleted) is dropped. On the
    session's first visit, ``first_visit()`` may give values instead (from the address)."""
    if not any(KEPT + key in st.session_state for key in choices):
        if first_visit is not None:
            st.session_state.update(first_visit())
        return
    for key, values in choices.items():
        if key not in st.session_state and KEPT + key in st.session_state and (values is None or st.session_state[KEPT + key] in values):
            st.session_state[key] = st.session_state[KEPT + key]


def keep(keys):
    """After the widgets are drawn: keep a copy of their values for ``remember``."""
    for key in keys:
        if key in st.session_state:
            st.session_state[KEPT + key] = st.session_state[key]


TRAINING_NOW = "The network training now"


def model_options():
    """The models a visitor can pick: the saved ones, and their own run once it has an epoch."""
    job = current_job()
    return list_models() + ([TRAINING_NOW] if job is not None and job.history else [])


def choose_model(key, help):
    """A "Model" picker of ``model_options``; returns ``(name, model)``, the model being this
    visitor's run (as it is now) for ``TRAINING_NOW``. Says so and stops the page when there is
    none or it cannot be read."""
    options = model_options()
    if not options:
        st.error("No model found in the weights folder (weights/, or the folder NN_CORE_WEIGHTS_DIR names). Train one on the Train page.")
        st.stop()
    name = st.selectbox("Model", options, key=key, help=help)
    if name == TRAINING_NOW:
        job = current_job()
        st.caption("%s, as it was after epoch %d%s; its answers improve as it learns." % (
            plain(job.label), len(job.history), " (still training)" if job.running else ""))
        return name, job.model()
    try:
        return name, get_model(name)
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load model %r: %s" % (name, exc)))
        st.stop()


def current_job():
    """This user's training job (waiting, running or finished), or None."""
    return st.session_state.get("job")


def page_alive():
    """A function that tells, from any thread, whether this visitor's page is still open (its
    connection to the server is up), or None where that cannot be known (headless tests)."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        runtime, session = get_instance(), get_script_run_ctx().session_id
        if not isinstance(runtime.is_active_session(session), bool):
            return None  # a stand-in runtime
    except Exception:
        return None
    return lambda: runtime.is_active_session(session)


def plain(text):
    """``text`` as it is when shown with Markdown (st.error, st.warning ...): underscores, stars and
    the like are escaped, so that a name such as ``__meta__`` is not turned into bold."""
    return "".join("\\" + c if c in "\\`*_[]<>|~$" else c for c in str(text))


def field(name, kind="quantitative", **more):
    """One field of a Vega-Lite encoding: its name, its type, and any other properties."""
    return {"field": name, "type": kind, **more}


def digit_bars(values, title, percent=False, height=200, floor=0.0):
    """One bar per digit 0-9, as a Vega-Lite specification (for ``st.vega_lite_chart``): plain
    bars that do not zoom when the page is scrolled with the pointer over them, unlike
    st.bar_chart; written directly, as the Draw page redraws it on every stroke. A ``percent``
    axis runs from ``floor`` to 100%, so that 98.6% and 99.9% do not look the same."""
    scale = {"domain": [floor, 1]} if percent else None
    y = field(title, **({"scale": scale, "axis": {"format": "%"}} if percent else {"axis": {"tickMinStep": 1}}))
    encoding = {
        "x": field("digit", "ordinal", axis={"labelAngle": 0}),
        "y": y,
        "tooltip": [field("digit", "ordinal"), field(title, format=".1%" if percent else "d")],
    }
    if floor:
        encoding["y2"] = {"datum": floor}  # bars rise from the axis's floor, not from a zero below the chart
    return {
        "height": height,
        "data": {"values": [{"digit": d, title: float(v)} for d, v in enumerate(values)]},
        "mark": {"type": "bar"},
        "encoding": encoding,
    }
