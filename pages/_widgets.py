"""How the pages keep and show what people give them (not a page): widget values that stay when
another page is visited, work done once per uploaded file, and text shown as typed."""

import streamlit as st
from streamlit.errors import StreamlitAPIException


def upload_box(label, types, key, **kwargs):
    """``st.file_uploader`` for files of ``types`` ("png", "csv" ...). A browser offers only such
    files, but a script can send any: Streamlit then raises while drawing the box, and the page
    says in its own words which files it takes (the upload is ignored) instead of failing."""
    try:
        return st.file_uploader(label, type=types, key=key, **kwargs)
    except StreamlitAPIException as exc:
        if getattr(exc, "error_id", None) != "file-uploader-invalid-extension" and "extension" not in str(exc):
            raise
        kinds = [t.upper() for t in types]
        st.error(
            "That file was not read: only %s files are taken here."
            % (kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1])
        )
        return None


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
        if (
            key not in st.session_state
            and KEPT + key in st.session_state
            and (values is None or st.session_state[KEPT + key] in values)
        ):
            st.session_state[key] = st.session_state[KEPT + key]


def keep(keys):
    """After the widgets are drawn: keep a copy of their values for ``remember``."""
    for key in keys:
        if key in st.session_state:
            st.session_state[KEPT + key] = st.session_state[key]


# What Markdown (CommonMark, and Streamlit's own additions) may act on in a visitor's words:
# every ASCII punctuation character can be escaped with a backslash.
_PUNCTUATION = set("!\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~")
# U+2060 WORD JOINER: invisible, not a line break. Streamlit turns ":smile:" into an emoji,
# ":material/home:" into an icon and ":red[...]" into coloured text in the browser, after the
# Markdown is parsed, so a backslash before the colon does not keep them as typed; a joiner
# after a colon that something follows does (none of those patterns allows it there).
_JOINER = "\u2060"
_ARROWS = "<>-=~"  # Streamlit draws "->" as an arrow, ">=" as a sign ... : a joiner keeps them apart


def plain(text):
    """``text`` shown exactly as typed where Streamlit renders Markdown (st.error, st.caption,
    st.success, labels ...): Markdown's punctuation escaped, so that a name such as ``__meta__``
    is not bold; Streamlit's directives (``:smile:``, ``:material/home:``, ``:red[R]``,
    ``:blue-background[x]``, ``$x$``) kept as text; line breaks shown as spaces (a name with a
    blank line and ``# x`` would start a heading). The one place the pages make visitors' words safe."""
    text = " ".join(str(text).split()) if any(c in str(text) for c in "\r\n\x0b\x0c") else str(text)
    out = []
    for c, after in zip(text, text[1:] + " "):
        out.append("\\" + c if c in _PUNCTUATION else c)
        if (c == ":" and not after.isspace()) or (c in _ARROWS and after in _ARROWS):
            out.append(_JOINER)  # ("Not saved: x" keeps its colon as it is)
    return "".join(out)


def seconds(value):
    """A time in seconds as people read it: "0.5 s" for a short run, "28 s" for a longer one."""
    return "%.1f s" % value if value < 10 else "%.0f s" % value


def first_sight(what: str, ident) -> bool:
    """True the first time this session draws ``what`` (a run, a sweep) of id ``ident``, so that a
    reload, a new tab or another computer of the same person shows it as it was started, once, and
    then leaves the widgets to the person."""
    key = "followed_" + what
    if st.session_state.get(key) == ident:
        return False
    st.session_state[key] = ident
    return True
