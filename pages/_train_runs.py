"""The Train page's run control (not a page): Start (a ``RunSpec`` handed to ``Runner.start``),
Pause / Resume and Stop, what a run would cost, and its progress and curves while it trains.

All of it is drawn by one fragment, from the run's state (``nn_core.runstate``) on every refresh:
every second while the person's run trains or waits, every few seconds otherwise (a run started in
another tab shows up). When the run starts or ends, the whole page is drawn again, so that the
sidebar's lock and the results follow."""

from __future__ import annotations

import streamlit as st

from nn_core import runstate
from nn_core.runner import Refused, duration, max_pause_seconds
from nn_core.runs import RunsError
from nn_core.runspec import RunSpec
from nn_core.storage import ModelFileError
from nn_core.training import SLOW_SECONDS, slow_choices, traps
from nn_core.words import counted
from pages._curves import (
    CHART_HEIGHT,
    CURVES,
    HEALTH,
    HEALTH_HEIGHT,
    HEALTH_NOTE,
    change_list,
    health_charts,
    log_scale_helps,
    overlay,
)
from pages._models import get_model
from pages._people import forget_runs, my_runs, runner, visitor
from pages._train_data import planned_images, recipe_of
from pages._widgets import plain, seconds

LIVE_EVERY = 1.0  # seconds between two refreshes while the person's run trains or waits
JUST_ASKED = 3.0  # seconds a run first in line is "starting" before it is said to be waiting for a place
IDLE_EVERY = 5.0  # otherwise: a run started in another tab shows up within this


def next_label(runs) -> str:
    labels = {run.label for run in runs}
    return next("run %d" % n for n in range(len(labels) + 1, len(labels) + 1000) if "run %d" % n not in labels)


def start(plan, choice) -> None:
    """Start's callback (before anything is drawn, so that the page is drawn with the run going):
    the run is asked for; why not, if it is not, is kept for the page to say."""
    spec = RunSpec(plan.config, recipe_of(plan, choice), started_from=plan.base, owner=visitor(), label=next_label(my_runs()))
    try:
        params = get_model(plan.base).params if plan.base else None
    except (ModelFileError, OSError) as exc:
        st.session_state.start_note = ("error", plain("Could not load %s to fine-tune: %s" % (plan.base, exc)))
        return
    try:
        runner().start(spec, params=params)
    except Refused as exc:
        st.session_state.start_note = ("warning" if exc.busy else "error", plain(str(exc)))
    forget_runs()


def request(job, kind) -> None:
    """Pause, Resume or Stop's callback: a request the run acknowledges (until then the page shows
    "pausing ...")."""
    try:
        getattr(job, kind)()
    except RunsError as exc:
        st.session_state.start_note = ("error", plain(str(exc)))
    forget_runs()


def buttons(plan, dataset, job) -> runstate.Controls:
    """Start, Pause / Resume and Stop in one row, as the run's shown state allows
    (``runstate.controls``), with what Start would cost after them."""
    row = runstate.controls(None if job is None else job.status)
    # One row that wraps, not columns: on a phone, columns stacked the three buttons one per line.
    line = st.container(horizontal=True, vertical_alignment="center", key="run_buttons")
    line.button(
        "Start",
        type="primary",
        icon=":material/play_arrow:",
        disabled=dataset is None or not row.start or bool(st.session_state.get("sweep_busy")),
        key="start",
        on_click=start,
        args=(plan, dataset),
        help="A sweep of yours is under way: stop it first (Sweep tab)"
        if st.session_state.get("sweep_busy")
        else "Train a new network with the settings in the sidebar"
        if row.start
        else "A run of yours is going: stop it first",
    )
    line.button(
        row.hold_label,
        icon=":material/resume:" if row.hold == "resume" else ":material/pause:",
        key=row.hold,
        disabled=not row.hold_enabled,
        on_click=request,
        args=(job, row.hold),
        help="carry on training from where it was held"
        if row.hold == "resume"
        else "hold the run between two mini-batches; change the rate or lamda, then resume",
    )
    line.button(
        "Stop",
        icon=":material/stop:",
        disabled=not row.stop,
        key="stop",
        on_click=request,
        args=(job, "stop"),
        help="end the run; its network so far is kept",
    )
    if row.start and dataset is not None and not st.session_state.get("sweep_busy"):
        cost_before_start(plan, dataset, line.container(width="stretch"))  # after the buttons; under them on a phone
    return row


def cost_before_start(plan, dataset, where) -> None:
    """What Start would cost: the time as a range, the images, and the settings known to hurt."""
    n, caption = planned_images(plan, dataset)
    try:
        expected = runner().expected_seconds(plan.config, max(n, 1))
    except RunsError as exc:
        where.caption(plain("How long a run takes is not known now: %s" % exc))
        expected = None
    if expected is not None:
        where.caption(
            "%s from Start to the results, on this server now." % expected,
            help="building the data, training, and measuring the test set; from the speed of the last runs here",
        )
    st.caption(caption)
    found = traps(plan.config)
    if found:
        st.warning("These settings may keep the network from learning: %s." % "; ".join(found), icon=":material/warning:")
    if expected is not None and expected.seconds > SLOW_SECONDS:
        reasons = slow_choices(plan.config, n)
        st.warning(
            "This run would take about %s: %s."
            % (duration(expected.seconds), "; ".join(reasons) or "fewer images or epochs make it shorter"),
            icon=":material/hourglass:",
        )


def progress_text(job) -> str:
    """The progress line: where the run is, in the words of its shown state."""
    label, status = plain(job.label), job.status
    ahead = job.ahead
    if ahead == 0 and (job.waited or 0.0) < JUST_ASKED:  # a worker takes it in a moment: not "waiting" for anything yet
        return "%s: starting ..." % label
    if ahead is not None:
        return "%s: waiting for a free place on this server, %s" % (
            label,
            "next to start" if ahead == 0 else "%d run%s ahead of yours" % (ahead, "" if ahead == 1 else "s"),
        )
    done = len(job.history)
    if job.preparing:
        return "%s: getting the training images ready ..." % label
    if job.running:
        epoch = "epoch %d of %d, %s so far" % (min(done + 1, job.config.epochs), job.config.epochs, seconds(job.elapsed))
        left = job.seconds_left
        words = {
            runstate.PAUSING: "pausing at the end of this mini-batch ...",
            runstate.PAUSED: "paused at ",
            runstate.RESUMING: "resuming ...",
            runstate.STOPPING: "stopping at the end of this mini-batch ...",
        }
        if status in (runstate.PAUSING, runstate.RESUMING, runstate.STOPPING):
            return "%s: %s %s" % (label, words[status], epoch)
        return "%s: %s%s%s" % (
            label,
            words.get(status, ""),
            epoch,
            "" if left is None or status != "running" else ", about %s left" % duration(left),
        )
    return "%s: %s, %s in %s" % (label, status, counted(done, "epoch"), seconds(job.elapsed))


def live_view(plan, dataset) -> None:
    """The fragment: the buttons, the progress line, every shown run's curves and the health
    chart, from the run's state as it is now. Fixed keys keep each chart the same element from
    one refresh to the next, so new points are added to it instead of the chart being drawn anew."""
    runs = my_runs()
    job = runs[-1] if runs else None
    going = job.id if job is not None and job.running else None
    if going != st.session_state.get("drawn_going"):  # started or ended since the page was drawn (here or in another tab)
        st.rerun(scope="app")
    try:
        buttons(plan, dataset, job)
        note = st.session_state.pop("start_note", None)
        if note is not None:
            (st.warning if note[0] == "warning" else st.error)(
                note[1], icon=":material/hourglass:" if note[0] == "warning" else None
            )
        if "live_note" in st.session_state:
            st.info(st.session_state.pop("live_note"), icon=":material/tune:")
        if job is None:
            if st.session_state.get("sweep_busy"):
                return  # (the page says Start waits for the sweep)
            st.info(
                "Set the hyperparameters and press Start. The curves grow by one point per epoch, and the thin line "
                "follows the cost mini-batch by mini-batch."
            )
            return
        curves(runs, job)
    except RunsError as exc:  # the run store went away meanwhile: said in words, the page goes on
        st.error(plain(str(exc)), icon=":material/database:")


def curves(runs, job) -> None:
    # The progress bar is always drawn, so that the charts below keep their place on the page.
    st.progress(job.progress, text=progress_text(job))
    if job.status == runstate.PAUSED:
        st.caption(
            "While it is paused the run keeps its place on this server; if others are waiting for one, it is "
            "stopped after %s (its network so far is kept)." % duration(max_pause_seconds())
        )
    if job.notice:
        st.warning(plain(job.notice))
    hidden = st.session_state.get("hidden_runs", [])
    shown = [r for r in runs if r.label not in hidden or r == job]
    if not st.session_state.get("log_cost_chosen"):  # until the person chooses, on when a linear axis would flatten a run
        st.session_state.log_cost = log_scale_helps(shown)
    cost, accuracy = overlay(runs, shown, live=job, log=st.session_state.log_cost)
    left, right = st.columns(2)
    left.vega_lite_chart(spec=cost, key="cost_chart", height=CHART_HEIGHT + 80)
    right.vega_lite_chart(spec=accuracy, key="accuracy_chart", height=CHART_HEIGHT + 80)
    st.caption(CURVES)
    listed = change_list(shown)
    if listed:
        st.caption(plain(listed))
    left.toggle(
        "Log scale for the cost",
        key="log_cost",
        on_change=lambda: st.session_state.update(log_cost_chosen=True),
        help="on a log scale a run at cost 30 and one at 0.1 both show how they fall; it is on by itself when "
        "the runs' costs differ more than ten times",
    )
    note = accuracy_note(job)
    if note:
        right.caption(note)
    health(job)


def accuracy_note(job) -> str | None:
    """Why training accuracy can sit below validation accuracy, when it does."""
    last = job.history[-1] if job.history else None
    if last is None or last.val_acc is None or last.train_acc >= last.val_acc:
        return None
    why = [
        w
        for w, on in (
            ("dropout switches off a share of the neurons while training (never when measuring)", job.config.dropout > 0),
            ("augmentation trains on distorted digits, harder than the plain ones measured", job.config.augment),
        )
        if on
    ]
    if not why:
        return None
    return (
        "Training accuracy is below validation accuracy because %s: the network is handicapped while it trains."
        % " and ".join(why)
    )


def health(job) -> None:
    """The network's health, layer by layer, epoch by epoch (see nn_core.health)."""
    charts = health_charts(job)
    if charts is None:
        return
    with st.expander("Network health: is every layer learning?", expanded=job.running):
        columns = st.columns(3)
        for column, chart, (_, title, meaning) in zip(columns, charts, HEALTH):
            column.markdown("**%s**" % title.capitalize())
            column.vega_lite_chart(spec=chart, key="health_" + title, height=HEALTH_HEIGHT + 110)  # the plot and its legend
            column.caption(meaning)
        st.caption(HEALTH_NOTE)
