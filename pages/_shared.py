"""Streamlit helpers the pages share (not a page): cached data and models, the person's training
runs, the visitor's anonymous id and the drawings database."""

import hashlib
import re
import uuid

import streamlit as st

from nn_core import data
from nn_core.drawings import DrawingStore
from nn_core.runner import Run, Runner
from nn_core.runs import RunsError
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


def signed_in_id(user):
    """The id of a person signed in with ``st.login`` (``user`` is ``st.user``, or a dict of its
    claims), or None when no one is: 32 hex digits of a hash of the identity provider and the
    person's subject there, so that the same person is the same id on every server of a class,
    and the id says nothing about them."""
    claims = dict(user) if not isinstance(user, dict) else user
    if not claims.get("is_logged_in"):
        return None
    subject = claims.get("sub") or claims.get("email")
    if not subject:
        return None
    return hashlib.sha256(("%s\n%s" % (claims.get("iss", ""), subject)).encode()).hexdigest()[:32]


def sign_in_offered():
    """Whether the teacher configured sign-in (an ``[auth]`` section in .streamlit/secrets.toml):
    ``st.user`` then has ``is_logged_in``."""
    try:
        return "is_logged_in" in st.user.to_dict()
    except Exception:  # no secrets file, or a stand-in runtime
        return False


def visitor():
    """The id of the person at this browser: it marks their drawings, runs and saved models (no
    name, no address). Signed in (``st.login``, when configured), it is their sign-in's;
    otherwise an anonymous one kept in a cookie, so a reload or a new tab of the same browser is
    the same person, and a link sent to a friend shares settings, not the id."""
    signed_in = signed_in_id(st.user.to_dict()) if sign_in_offered() else None
    if signed_in is not None:
        st.session_state.visitor = signed_in
        return signed_in
    if "visitor" not in st.session_state:
        kept = st.context.cookies.get(VISITOR_COOKIE, "")
        if isinstance(kept, str) and VISITOR_PATTERN.fullmatch(kept):  # (a stand-in runtime in tests has no cookies)
            st.session_state.visitor = kept
        else:
            st.session_state.visitor = uuid.uuid4().hex
            st.session_state.store_visitor = True
    return st.session_state.visitor


def store_visitor():
    """Give a browser that came without an id the one this session made (once per session); and
    where sign-in is configured, offer it (or say who is signed in)."""
    visitor()
    if st.session_state.pop("store_visitor", False):
        with st.sidebar:
            st.html(STORE_VISITOR % (VISITOR_COOKIE, st.session_state.visitor), unsafe_allow_javascript=True)
    if sign_in_offered():
        with st.sidebar:
            if st.user.is_logged_in:
                st.caption("Signed in as %s" % plain(st.user.get("name") or st.user.get("email") or "you"))
                st.button("Sign out", key="sign_out", on_click=st.logout)
            else:
                st.button("Sign in", key="sign_in", on_click=st.login,
                          help="your drawings, runs and models then follow you to any computer")


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


SHOWN_RUNS = 20  # a person's latest runs shown on the Train page (all are kept)


def runner():
    """The process's ``Runner``: it sends runs to Dask (the embedded cluster, or the scheduler at
    NN_CORE_DASK_ADDRESS) and reads them back from the run store."""
    return Runner.shared()


def my_runs():
    """This person's latest runs (waiting, training, ended), oldest first. They are read from the
    run store (a millisecond), so they come back after a reload, in a new tab, and after a restart
    of the server. Each ``Run`` handle is kept in the session, so that a refresh reads only its
    new events."""
    try:
        records = runner().store.runs_of(visitor())[-SHOWN_RUNS:]
    except RunsError as exc:
        st.error(plain(str(exc)))
        return []
    handles = st.session_state.setdefault("run_handles", {})
    for record in records:
        handles.setdefault(record.id, Run(runner(), record.id)).refresh(record)
    return [handles[record.id] for record in records]


def current_job():
    """This person's latest run (waiting, training or ended), or None."""
    runs = my_runs()
    return runs[-1] if runs else None


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
