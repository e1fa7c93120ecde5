"""Streamlit helpers the pages share (not a page): cached data and models, the user's training
job, the visitor's anonymous id and the drawings database."""

import uuid

import streamlit as st
from threadpoolctl import threadpool_limits

from nn_core import data, pendigits
from nn_core.drawings import DrawingStore
from nn_core.storage import ModelFileError, list_models, load_model, model_path

# Every visitor's page script runs in this one process. With OpenBLAS's threads, Draw pages that
# answer strokes at the same moment wait for each other's BLAS threads, spinning: one forward
# pass then costs ten times the CPU it costs alone. So NumPy runs single-threaded here; each
# training run has a process and BLAS threads of its own (nn_core.jobs, nn_core.worker).
threadpool_limits(1, user_api="blas")


@st.cache_resource(show_spinner="Loading MNIST ...")
def mnist(folder):
    """The MNIST data set, loaded once per server (read-only arrays shared by every user)."""
    return data.load_mnist(folder)


@st.cache_resource(show_spinner="Drawing the pen-drawn digits as on the canvas ...", max_entries=2)
def pen_drawn(drawings, seed):
    """Every pen-drawn digit drawn ``drawings`` times, as training images (shared by every user:
    drawing them takes about half a minute)."""
    return pendigits.for_training(pendigits.load_pendigits(), drawings, seed)


@st.cache_resource(max_entries=16)
def cached_model(path, mtime):
    """A model file, loaded once per version of the file (``mtime`` keys the cache)."""
    return load_model(path)


def get_model(name):
    path = model_path(name)
    return cached_model(str(path), path.stat().st_mtime)


def visitor():
    """An anonymous id of this browser session, kept with the drawings it corrects (no name, no
    address: it only tells one session's drawings from another's)."""
    return st.session_state.setdefault("visitor", uuid.uuid4().hex[:16])


def drawing_store():
    """The drawings database (``NN_CORE_DRAWINGS_DB``); opened per use, so safe for every session."""
    return DrawingStore()


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
            job.label, len(job.history), " (still training)" if job.running else ""))
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


def digit_bars(values, title, percent=False, height=200):
    """One bar per digit 0-9, as a Vega-Lite specification (for ``st.vega_lite_chart``): plain
    bars that do not zoom when the page is scrolled with the pointer over them, unlike
    st.bar_chart; written directly, as the Draw page redraws it on every stroke."""
    y = field(title, **({"scale": {"domain": [0, 1]}, "axis": {"format": "%"}} if percent else {"axis": {"tickMinStep": 1}}))
    return {
        "height": height,
        "data": {"values": [{"digit": d, title: float(v)} for d, v in enumerate(values)]},
        "mark": {"type": "bar"},
        "encoding": {
            "x": field("digit", "ordinal", axis={"labelAngle": 0}),
            "y": y,
            "tooltip": [field("digit", "ordinal"), field(title, format=".1%" if percent else "d")],
        },
    }
