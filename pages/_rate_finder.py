"""The rate finder (not a page): "Find a good rate", beside the rate slider, starts one short run
whose rate grows a little at every mini-batch (``Runner.find_rate``: the sidebar's network,
optimizer and data, in the person's one place). A panel above the tabs shows the smoothed cost
against the rate as it runs, then the suggested rate and why, and one click puts it on the slider.

The slider offers a few rates (1e-5, 3e-5, 1e-4 ...): the suggestion is set to the nearest of them,
and the panel says so. ``finder_chart`` is the panel's Vega-Lite chart."""

from __future__ import annotations

import math

import streamlit as st

from nn_core.ratefinder import centred
from nn_core.refused import Refused
from nn_core.runhandle import Run
from nn_core.runs import RunsError
from nn_core.runspec import RunSpec
from pages._charts import field
from pages._people import runner, visitor
from pages._sweep_charts import BEST, HEIGHT, decades, finite, value_text
from pages._train_data import recipe_of
from pages._train_settings import RATES
from pages._widgets import plain

FIND_RATE = "find-rate"  # a rate finder's run purpose (``runrecord.FIND_RATE``)
LIVE_EVERY = 1.0


def button(locked: bool, sweeping: bool = False) -> None:
    """The button beside the rate slider (in the sidebar); held back while the person's run trains
    (``locked``) or their sweep is under way (``sweeping``): the finder is a run of theirs too."""
    st.button(
        "Find a good rate",
        key="find_rate",
        icon=":material/query_stats:",
        disabled=locked or sweeping,
        on_click=st.session_state.update,
        kwargs={"find_rate_asked": True},
        help="a short run that tries ever larger rates, from 0.00001 to 1, one per mini-batch, and stops when the "
        "cost blows up: the chart shows where the cost falls fastest, and suggests a rate. "
        "It uses the network, optimizer and images set here"
        if not (locked or sweeping)
        else "your %s: the rate finder can run once it has ended" % ("run is training" if locked else "sweep is under way"),
    )
    if st.session_state.get("find_rate_asked") or st.session_state.get("finder_shown"):
        # (On a phone the settings cover the page: the chart would come and go unseen behind them.)
        st.caption("The finder's chart is at the top of the page, above the tabs (on a phone, close these settings to see it).")


def nearest(rate: float) -> float:
    """The slider's rate nearest ``rate`` (nearest on a log scale: 0.004 is nearer 0.003 than 0.01)."""
    return min(RATES, key=lambda r: abs(math.log(r) - math.log(rate)))


def latest() -> Run | None:
    """The person's latest rate finder, or None."""
    records = runner().store.runs_of(visitor(), purpose=FIND_RATE)
    return Run(runner(), records[-1].id, records[-1]) if records else None


def start(plan, dataset) -> None:
    """Start the finder for the sidebar's ``plan`` (a ``Plan``) on ``dataset``."""
    if plan.base is not None:
        st.session_state.finder_note = (
            "The rate finder starts from new random weights: set Start from to new random weights to use it."
        )
        return
    if dataset is None:
        st.session_state.finder_note = "There is no data to train on yet (see above)."
        return
    spec = RunSpec(plan.config, recipe_of(plan, dataset), owner=visitor(), label="rate finder")
    try:
        run = runner().find_rate(spec)
    except Refused as exc:
        st.session_state.finder_note = plain(str(exc))
        return
    st.session_state.finder_shown = run.id


def panel(plan, dataset) -> None:
    """Start the finder if its button was pressed; show the latest while it runs, or once it has
    run in this session, until it is closed."""
    if st.session_state.pop("find_rate_asked", False):
        start(plan, dataset)
    note = st.session_state.pop("finder_note", None)
    if note:
        st.warning(note, icon=":material/query_stats:")
    try:
        run = latest()
    except RunsError as exc:
        st.error(plain(str(exc)), icon=":material/database:")
        return
    if run is None or not (run.running or st.session_state.get("finder_shown") == run.id):
        return
    st.session_state.finder_drawn_going = run.id if run.running else None
    with st.container(border=True, key="finder_panel"):
        st.fragment(live, run_every=LIVE_EVERY if run.running else None)(run.id)


def use(rate: float) -> None:
    """The "Use" button's callback: the slider takes the rate (before the sidebar is drawn again)."""
    st.session_state.rate = rate
    st.session_state.finder_set = rate
    st.session_state.finder_rerun = True  # the sidebar is outside this fragment: the whole page is drawn again


def close() -> None:
    st.session_state.finder_shown = None


def live(run_id: str) -> None:
    """The fragment: progress, the chart, the suggestion and its reason, Use and Close."""
    run = Run(runner(), run_id)
    if (run.id if run.running else None) != st.session_state.get("finder_drawn_going"):
        st.rerun(scope="app")  # it ended: the page is drawn again without the refresh
    if st.session_state.pop("finder_rerun", False):
        st.rerun(scope="app")  # the slider was set (``use``): the sidebar shows it
    title, closing = st.columns([6, 1], vertical_alignment="center")
    title.markdown("**Finding a good rate**: one short run, the rate growing at every mini-batch")
    closing.button("Close", key="close_finder", on_click=close, disabled=run.running, help="hide the rate finder")
    result = run.finder()
    tried = len(result.rates) if result is not None else 0
    if run.running:
        ahead = run.ahead
        st.progress(
            run.progress,
            text="waiting for a free place on this server"
            if ahead is not None
            else "%d mini-batches so far%s" % (tried, ", rate %.2g" % result.rates[-1] if tried else ""),
        )
    elif run.status in ("failed", "cancelled", "stopped") and not tried:
        st.error(plain(run.message or "The rate finder %s." % run.status))
        return
    if tried:
        suggestion = None if run.running else result.suggestion
        chosen = suggestion.rate if suggestion is not None else None
        spec = finder_chart(result.rates, result.costs, centred(result.costs), chosen, suggestion.blowup if suggestion else None)
        st.vega_lite_chart(spec=spec, key="finder_chart")
        st.caption(
            "Grey dots: the cost of each mini-batch; blue line: the same, smoothed. While the rate is too small the cost "
            "hardly moves; at a good rate it falls fastest; too large, and it climbs and blows up."
        )
        if suggestion is not None:
            if chosen is None:
                st.warning(plain("No rate to suggest: %s." % suggestion.reason))
            else:
                slider = nearest(chosen)
                st.success(plain("Suggested rate: %.2g. Why: %s." % (chosen, suggestion.reason)), icon=":material/lightbulb:")
                st.button(
                    "Use rate %g" % slider,
                    key="use_rate",
                    type="primary",
                    on_click=use,
                    args=(slider,),
                    help="set the rate slider in the sidebar to %g%s"
                    % (slider, "" if slider == chosen else " (the slider's rate nearest %.2g)" % chosen),
                )
                if slider != float("%.2g" % chosen):  # (said, not only in the button's help: phones have no hover)
                    st.caption("The rate slider has no %.2g: %g is its nearest step." % (chosen, slider))
                if st.session_state.get("finder_set") == slider and st.session_state.get("rate") == slider:
                    st.info("The rate slider in the sidebar is set to %g." % slider, icon=":material/tune:")
    if result is not None and result.message and not run.running:
        st.caption(plain("The finder %s." % result.message))


def finder_chart(
    rates: list[float], costs: list[float], smoothed: list[float], suggested: float | None, blowup: float | None
) -> dict:
    """The rate finder: the cost of each mini-batch (faint dots) and its smoothed line against
    the rate (log axis); the suggested rate as a green rule with its value, where the cost blew
    up as a red dashed one. The cost axis stops a little above where it started: past that the
    line leaves the chart, which is what "blows up" looks like."""
    points = [
        {"rate": r, "cost": c, "smoothed": s}
        for r, c, s in zip(rates, costs, smoothed)
        if finite(r) and r > 0 and finite(c) and finite(s)
    ]
    start = points[0]["smoothed"] if points else 1.0
    lowest = min((p["smoothed"] for p in points), default=0.0)
    top = max(start * 1.5, lowest * 1.1, 1e-3)
    # Down to the lowest mini-batch's cost too: a dot below the line is drawn, not cut off.
    bottom = min([lowest * 0.8] + [p["cost"] * 0.95 for p in points])
    y_scale = {"domain": [max(0.0, bottom), top], "nice": False}
    x = field(
        "rate",
        scale={"type": "log"},
        title="rate (log scale)",
        axis={"values": decades([p["rate"] for p in points]), "labelExpr": "format(datum.value, '~g')"},
    )
    layers: list[dict] = [
        {
            "data": {"values": points},
            "mark": {"type": "point", "size": 12, "opacity": 0.35, "color": "#888888", "clip": True},
            "encoding": {"x": x, "y": field("cost", scale=y_scale, title="training cost")},
        },
        {
            "data": {"values": points},
            "mark": {"type": "line", "strokeWidth": 3, "color": "#4e79a7", "clip": True},
            "encoding": {
                "x": x,
                "y": field("smoothed", scale=y_scale),
                "tooltip": [field("rate", format=".2g"), field("smoothed", format=".4f", title="smoothed cost")],
            },
        },
    ]
    marks = []
    if suggested is not None and finite(suggested):
        marks.append({"rate": suggested, "what": "suggested %s" % value_text(float("%.2g" % suggested)), "colour": "#2ca02c"})
    if blowup is not None and finite(blowup):
        marks.append({"rate": blowup, "what": "lowest %s" % value_text(float("%.2g" % blowup)), "colour": BEST})
    for mark in marks:
        suggested = mark["what"].startswith("suggested")
        dash = [] if suggested else [6, 4]
        layers.append(
            {
                "data": {"values": [mark]},
                "mark": {"type": "rule", "strokeWidth": 2, "strokeDash": dash, "color": mark["colour"]},
                "encoding": {"x": x},
            }
        )
        layers.append(
            {
                "data": {"values": [mark]},
                "mark": {
                    "type": "text",
                    # the suggestion's words left of its line, the blow-up's right of its own: never on top of each other
                    "align": "right" if suggested else "left",
                    "dx": -4 if suggested else 4,
                    "y": 12,
                    "fontWeight": "bold",
                    "fontSize": 13,
                    "color": mark["colour"],
                },
                "encoding": {"x": x, "text": field("what", "nominal")},
            }
        )
    return {"height": HEIGHT - 40, "layer": layers}
