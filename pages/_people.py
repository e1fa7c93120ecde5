"""Who is at this browser, and their work (not a page): the person's id (an anonymous cookie, or
their sign-in), their drawings' store, and their training runs on the ``Runner``."""

import hashlib
import re
import uuid

import streamlit as st

from nn_core.drawings import DrawingStore
from nn_core.runner import Run, Runner
from nn_core.runs import RunsError
from pages._widgets import plain

VISITOR_COOKIE = "digit_studio_visitor"
VISITOR_PATTERN = re.compile(r"[0-9a-f]{32}")
# Sets the cookie from the browser's side (Streamlit reads cookies but has no way to set one, so
# it cannot be HttpOnly): a year long, for this site only, never sent to another site, never part
# of the address, and over HTTPS (a class behind its proxy: docs/class.md) sent only over HTTPS.
STORE_VISITOR = """<script>
document.cookie = "%s=%s; path=/; max-age=31536000; SameSite=Strict" + (location.protocol === "https:" ? "; Secure" : "");
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
                st.button(
                    "Sign in",
                    key="sign_in",
                    on_click=st.login,
                    help="your drawings, runs and models then follow you to any computer",
                )


def drawing_store():
    """The drawings database (``NN_CORE_DRAWINGS_DB``); opened per use, so safe for every session."""
    return DrawingStore()


SHOWN_RUNS = 20  # a person's latest runs shown on the Train page (all are kept)


def runner():
    """The process's ``Runner``: it sends runs to Dask (the embedded cluster, or the scheduler at
    NN_CORE_DASK_ADDRESS) and reads them back from the run store."""
    return Runner.shared()


def _this_page_run():
    """Something that is the same object for the whole of one run of a page (or of a fragment)
    and another for the next: Streamlit gives each run fresh cursors."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return None if ctx is None else ctx.cursors


def my_runs():
    """This person's latest runs (waiting, training, ended), oldest first. They are read from the
    run store (a millisecond), so they come back after a reload, in a new tab, and after a restart
    of the server; once per run of a page (``forget_runs`` after a change). Each ``Run`` handle is
    kept in the session, so that a refresh reads only its new events. A store that cannot be read
    is said in words (once per page run), and the runs are then none."""
    person, now = visitor(), _this_page_run()
    cached = st.session_state.get("my_runs")
    if cached is not None and now is not None and cached[0] == person and cached[1] is now:
        return cached[2]
    try:
        records = runner().store.runs_of(person)[-SHOWN_RUNS:]
    except RunsError as exc:
        st.session_state.my_runs = (person, now, [])
        st.error(plain(str(exc)), icon=":material/database:")
        return []
    handles = st.session_state.setdefault("run_handles", {})
    for record in records:
        handles.setdefault(record.id, Run(runner(), record.id)).refresh(record)
    runs = [handles[record.id] for record in records]
    st.session_state.my_runs = (person, now, runs)
    return runs


def forget_runs():
    """Read the person's runs again at the next ``my_runs`` (a run was started or asked something)."""
    st.session_state.pop("my_runs", None)


def current_job():
    """This person's latest run (waiting, training or ended), or None."""
    runs = my_runs()
    return runs[-1] if runs else None
