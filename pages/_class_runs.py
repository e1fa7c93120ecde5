"""The Train page's "All runs" tab (not a page): every finished run on this server (or the class's
database), anonymous, as one scatter: a chosen setting against test accuracy, coloured by another,
the person's own runs large and outlined. Hovering shows a run's settings; a click loads them
into the sidebar. Beyond ``Runner.class_runs``'s limit a sample is drawn, and the page says so."""

from __future__ import annotations

import streamlit as st

from nn_core.runs import CLASS_SETTINGS, RunsError
from nn_core.words import counted
from pages._people import current_job, runner, visitor
from pages._sweep_charts import NAMES as WORDS
from pages._sweep_charts import class_chart, picked
from pages._train_settings import settings_near
from pages._widgets import plain


def rows_for_chart() -> tuple[list[dict], int]:
    """The class's runs, each with its ``index`` on the chart (a full batch's mini_batch shown as
    its images, so it has a place on the axis)."""
    rows, total = runner().class_runs(visitor())
    out = []
    for i, row in enumerate(rows):
        row = dict(row, index=i)
        if row.get("mini_batch") is None:  # a full batch: as many images a step as it trained on
            row.update(mini_batch=row.get("n_train"), full_batch=True)
        out.append(row)
    return out, total


def load(key: str) -> None:
    """The chart's click: the run's settings go to the sidebar (before it is drawn again)."""
    chosen = picked(st.session_state.get(key))
    rows = st.session_state.get("class_rows") or []
    if not chosen or chosen[0] >= len(rows):
        return
    job = current_job()
    if job is not None and job.running:
        st.session_state.class_note = ("warning", "Your run is training: its settings stay in the sidebar until it ends.")
        return
    values, notes = settings_near(rows[chosen[0]])
    st.session_state.update(values)
    st.session_state.class_note = (
        "success",
        "Loaded into the sidebar: %s.%s Press Start on the One run tab to train it."
        % (", ".join("%s %s" % (k, v) for k, v in described(rows[chosen[0]]).items()), (" " + " ".join(notes)) if notes else ""),
    )


def described(row: dict) -> dict:
    """A run's settings for a sentence, in a fixed order."""
    return {k: row.get(k) for k in CLASS_SETTINGS if row.get(k) is not None}


def class_tab() -> None:
    """The tab: what the chart shows, the two choices, the chart, and how many runs it shows."""
    try:
        rows, total = rows_for_chart()
    except RunsError as exc:
        st.error(plain(str(exc)), icon=":material/database:")
        return
    st.session_state.class_rows = rows
    st.markdown(
        "**Every finished run on this server**, yours and everyone else's, without names: what did all of them find? "
        "Each dot is one run. Yours are the large ones with a black outline."
    )
    if not rows:
        st.info("No run has finished on this server yet. Runs appear here as they finish.")
        return
    options = list(WORDS)
    left, right, refresh = st.columns([3, 3, 1], vertical_alignment="bottom")
    x = left.selectbox(
        "Setting along the bottom",
        options,
        index=0,
        key="class_x",
        format_func=WORDS.get,
        help="the setting each run is placed by",
    )
    colours = [k for k in options if k != x]
    if st.session_state.get("class_colour") not in colours:
        st.session_state.class_colour = "width" if x != "width" else "layers"
    colour = right.selectbox("Colour by", colours, key="class_colour", format_func=WORDS.get, help="a second setting, as colours")
    refresh.button("Refresh", key="class_refresh", icon=":material/refresh:", help="show runs that finished since")
    tooltip = [k for k in CLASS_SETTINGS if k in WORDS]
    st.vega_lite_chart(
        spec=class_chart(rows, x, colour, tooltip),
        key="class_chart",
        on_select=lambda: load("class_chart"),
        selection_mode="pick",
    )
    mine = sum(bool(r.get("mine")) for r in rows)
    shown = len(rows)
    if shown < total:
        count = (
            "Showing %s of %s runs: all of yours and an even sample of the others (a chart of every one would be slow to draw)"
            % (
                format(shown, ","),
                format(total, ","),
            )
        )
    else:
        count = "%s on this server" % counted(total, "finished run")
    st.caption(
        "%s; %s of them yours. Hover over a dot for its settings; click one to load them into the sidebar."
        % (count, format(mine, ",") if mine else "none")
    )
    note = st.session_state.pop("class_note", None)
    if note:
        (st.success if note[0] == "success" else st.warning)(plain(note[1]))
