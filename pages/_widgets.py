"""How the pages keep and show what people give them (not a page): widget values that stay when
another page is visited, work done once per uploaded file, and text shown as typed."""

import streamlit as st


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


def plain(text):
    """``text`` as it is when shown with Markdown (st.error, st.warning ...): underscores, stars and
    the like are escaped, so that a name such as ``__meta__`` is not turned into bold."""
    return "".join("\\" + c if c in "\\`*_[]<>|~$" else c for c in str(text))


def seconds(value):
    """A time in seconds as people read it: "0.5 s" for a short run, "28 s" for a longer one."""
    return "%.1f s" % value if value < 10 else "%.0f s" % value
