"""The Train page's "All runs" tab (not a page): every finished run on this server (or the class's
database), anonymous, as one scatter: a chosen setting against test accuracy, coloured by another,
the person's own runs large and outlined. Hovering shows a run's settings; a click loads them
into the sidebar. Beyond ``Runner.class_runs``'s limit a sample is drawn, and the page says so.
``class_chart`` is its Vega-Lite chart."""

from __future__ import annotations

import streamlit as st

from nn_core.runs import CLASS_SETTINGS, RunsError
from nn_core.words import counted
from pages._charts import field
from pages._people import current_job, runner, visitor
from pages._sweep_charts import HEIGHT, decades, finite, picked, selection
from pages._sweep_charts import NAMES as WORDS
from pages._train_settings import settings_near
from pages._widgets import plain

# The most dots drawn (all of the viewer's, then an even sample of the others'). Each dot costs the
# browser time: with 5,000 runs stored, 2,000 dots took 0.5 s longer to appear than a plain switch of
# tab, 1,000 dots 0.27 s and 500 dots 0.08 s (Chromium on a busy 2-core machine).
SHOWN = 1000


def rows_for_chart() -> tuple[list[dict], int]:
    """The class's runs, each with its ``index`` on the chart (a full batch's mini_batch shown as
    its images, so it has a place on the axis)."""
    rows, total = runner().class_runs(visitor(), limit=SHOWN)
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
    st.caption(count_words(rows, total, tooltip))
    note = st.session_state.pop("class_note", None)
    if note:
        (st.success if note[0] == "success" else st.warning)(plain(note[1]))


def count_words(rows: list[dict], total: int, fields: list[str]) -> str:
    """The caption under the chart: how many runs it shows, how many are yours, and that runs alike
    share a spot when some do."""
    mine = sum(bool(r.get("mine")) for r in rows)
    if len(rows) < total:
        count = "Showing %s of %s runs: %san even sample of the others (a chart of every one would be slow to draw)." % (
            format(len(rows), ","),
            format(total, ","),
            "all %s of yours and " % format(mine, ",") if mine else "",
        )
    else:
        count = "%s on this server, %s of them yours." % (counted(total, "finished run"), format(mine, ",") if mine else "none")
    spots = {tuple(r.get(k) for k in [*fields, "test_acc"]) for r in rows}
    if len(spots) < len(rows):
        count += " Runs with the same settings and result are drawn on the same spot (its settings say how many)."
    return count + " Hover over a dot for its settings; click one to load them into the sidebar."


# How the class chart encodes a setting: log-scaled numbers, plain numbers, or names.
LOG_SETTINGS = {"rate", "lamda"}
NAMED_SETTINGS = {"activation", "optimizer", "schedule"}
CANVAS_FROM = 500  # dots


def class_chart(rows: list[dict], x: str, colour: str, tooltip_fields: list[str]) -> dict:
    """The class's runs: one dot per finished run, ``x`` (a setting) against test accuracy,
    coloured by ``colour``; the viewer's own runs (``mine``) large with a black outline, drawn
    on top; hover shows ``tooltip_fields``. Dots of the same value are spread a little sideways
    (a fixed jitter from the row's index) so that ten runs at rate 0.001 do not hide one another."""
    values = []
    for r in rows:
        v = r.get(x)
        if x in LOG_SETTINGS and not (finite(v) and v > 0):
            continue  # (a rate of 0 has no place on a log axis)
        values.append(
            dict(
                {k: r.get(k) for k in tooltip_fields},
                index=r["index"],
                test_acc=r.get("test_acc"),
                yours="yes" if r.get("mine") else "no",
                mine=bool(r.get("mine")),
                jitter=((r["index"] * 7919) % 100) / 100 - 0.5,
                **{x: v, colour: r.get(colour)},
            )
        )
    if x in NAMED_SETTINGS:
        x_enc = field(x, "nominal", axis={"labelAngle": 0})
        offset = {"xOffset": field("jitter", scale={"domain": [-1.5, 1.5]})}
    else:
        scale = (
            {"type": "log"} if x in LOG_SETTINGS else {"zero": False, "type": "sqrt" if x in {"n_train", "width"} else "linear"}
        )
        scale["padding"] = 16  # (pixels: a run at either end of the axis is drawn whole)
        axis = {"labelExpr": "format(datum.value, '~g')"}
        if x in LOG_SETTINGS:
            axis["values"] = decades([v[x] for v in values])
        x_enc = field(x, scale=scale, axis=axis)
        offset = {}
    if colour in LOG_SETTINGS:
        colour_enc = field(colour, scale={"type": "log", "scheme": "plasma"}, legend={"format": "~g"})
    elif colour in NAMED_SETTINGS or colour in {"layers", "width", "mini_batch", "n_train", "epochs", "dropout"}:
        colour_enc = field(
            colour, "ordinal", scale={"scheme": "viridis"} if colour not in NAMED_SETTINGS else {"scheme": "tableau10"}
        )
    else:
        colour_enc = field(colour, scale={"scheme": "viridis"})
    tooltip = [field("yours", "nominal", title="your run")] + [
        field(k, "nominal" if k in NAMED_SETTINGS else "quantitative", **({"format": "~g"} if k not in NAMED_SETTINGS else {}))
        for k in tooltip_fields
    ]
    tooltip.append(field("test_acc", format=".2%", title="test accuracy"))
    tooltip.append(field("alike", title="runs on this spot"))
    # Runs of the same settings and seed find the same accuracy and are drawn on one spot (on a numeric
    # axis nothing spreads them): how many is counted for the tooltip.
    alike = {"joinaggregate": [{"op": "count", "as": "alike"}], "groupby": sorted({x, colour, *tooltip_fields, "test_acc"})}
    return {
        # Many dots are drawn faster on a canvas than as as many SVG elements (Streamlit's own switch is at 2,000).
        **({"usermeta": {"embedOptions": {"renderer": "canvas"}}} if len(values) > CANVAS_FROM else {}),
        "height": HEIGHT + 60,
        "data": {"values": values},
        "transform": [alike],
        "mark": {"type": "point", "filled": True},
        "params": [selection()],
        "encoding": {
            "x": x_enc,
            **offset,
            "y": field("test_acc", scale={"zero": False, "padding": 16}, axis={"format": "%"}, title="test accuracy"),
            "color": colour_enc,
            "size": {"condition": {"test": "datum.mine", "value": 200}, "value": 70},
            "opacity": {"condition": {"test": "datum.mine", "value": 1.0}, "value": 0.55},
            "stroke": {"condition": {"test": "datum.mine", "value": "black"}, "value": None},
            "strokeWidth": {"condition": {"test": "datum.mine", "value": 2}, "value": 0},
            "order": field("mine", "nominal", sort="ascending"),
            "tooltip": tooltip,
        },
    }
