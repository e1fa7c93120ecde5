"""The Train page's Sweep tab (not a page): choose one or two settings and their values, see how
many runs that makes and how long they take, start them all as one sweep (``Runner.start_sweep``),
and watch the landscape fill in: accuracy against the values, or a heatmap for two settings. A
click on a point or cell shows that run's curves; any run of the sweep can be saved as a model.

The form is pages/_sweep_form.py. The sweep itself is read back from the run store: a reload or a
new tab shows it again."""

from __future__ import annotations

import streamlit as st

from nn_core.network import describe_layers
from nn_core.optimizers import OPTIMIZERS
from nn_core.runs import RunsError
from nn_core.sweep import SETTINGS, SweepPlan
from nn_core.words import counted
from pages._curves import CHART_HEIGHT, LINES, overlay
from pages._people import current_job, runner, visitor
from pages._sweep_charts import landscape_1d, landscape_2d, picked, value_text
from pages._sweep_form import form, log_spaced
from pages._train_results import save
from pages._widgets import plain

LIVE_EVERY = 1.0  # seconds between two refreshes while a sweep is under way


def going():
    """The person's latest sweep if it is under way, else None."""
    try:
        mine = runner().sweeps_of(visitor())
    except RunsError:
        return None
    return mine[-1] if mine and mine[-1].running else None


def shown_sweep():
    """The person's sweep to show (the one picked, else their latest), with all of theirs; (None, [])."""
    try:
        mine = runner().sweeps_of(visitor())
    except RunsError as exc:
        st.error(plain(str(exc)), icon=":material/database:")
        return None, []
    if not mine:
        return None, []
    by_id = {s.id: s for s in mine}
    return by_id.get(st.session_state.get("sweep_shown"), mine[-1]), mine


def until_ended() -> None:
    """A fragment while the person's sweep or run is under way elsewhere on the page: the whole page
    is drawn again once it has ended, so that the buttons it held back come back at once."""
    if not going() and not (current_job() is not None and current_job().running):
        st.rerun(scope="app")


def sweep_tab(sidebar, dataset, run_going: bool = False) -> None:
    """The Sweep tab: the form, then the sweep shown, live while it runs. While the person's one
    run trains (``run_going``), Start waits for its end, as the One run tab's Start waits for a sweep's."""
    current, mine = shown_sweep()
    going = current is not None and current.running
    if run_going:
        st.info(
            "Your run is training (see the One run tab): a sweep can start once it has ended.", icon=":material/model_training:"
        )
        st.fragment(until_ended, run_every=LIVE_EVERY)()
    form(sidebar, dataset, busy=going or run_going)
    if current is None:
        return
    st.divider()
    if len(mine) > 1:
        ids = [s.id for s in mine]
        st.selectbox(
            "Sweep to show",
            ids,
            index=ids.index(current.id),
            key="sweep_shown",
            format_func=lambda i: plain(next(s.label for s in mine if s.id == i)),
            help="your sweeps, the latest last",
        )
    st.session_state.sweep_drawn_going = current.id if going else None
    st.fragment(live, run_every=LIVE_EVERY if going else None)(current.id)


def handle(sweep_id: str):
    """The sweep ``sweep_id``, its handle kept in the session so that a refresh reads only what is new."""
    handles = st.session_state.setdefault("sweep_handles", {})
    if sweep_id not in handles:
        found = runner().sweep(sweep_id)
        if found is None:
            return None
        handles[sweep_id] = found
    return handles[sweep_id]


def pick(key: str) -> None:
    """The landscape's click: the runs clicked are shown (kept, so a refresh keeps them)."""
    chosen = picked(st.session_state.get(key))
    if chosen:
        st.session_state.sweep_picked = chosen


def live(sweep_id: str) -> None:
    """The fragment: progress and Stop, the landscape, the curves of the runs clicked, Save."""
    current = handle(sweep_id)
    if current is None:
        return
    going = current.id if current.running else None
    if going != st.session_state.get("sweep_drawn_going"):  # it ended (or started) since the page was drawn
        st.rerun(scope="app")
    runs = current.runs
    done = sum(not r.running for r in runs)
    bar, stop = st.columns([5, 1], vertical_alignment="center")
    bar.progress(done / max(1, len(runs)), text="%s: %s" % (plain(current.label), current.status))
    stop.button(
        "Stop sweep",
        icon=":material/stop:",
        key="stop_sweep",
        disabled=not current.running,
        on_click=current.stop,
        help="stop every run of the sweep: those training stop, those waiting are cancelled; what finished is kept",
    )
    st.caption(the_same_in_every_run(current.plan))
    land = current.landscape()
    rows = [dict(r, status=r.get("status") or runs[r["index"]].status) for r in land.rows]
    axes = current.plan.axes
    chosen = [i for i in st.session_state.get("sweep_picked") or [] if i < len(runs)] or (
        [land.best] if land.best is not None else []
    )
    if len(axes) == 2:
        spec = landscape_2d(rows, [a.setting for a in axes], land.best, shown=chosen)
        what = "Validation accuracy of each run (rows: %s, columns: %s)." % (axes[0].setting, axes[1].setting)
    else:
        setting = axes[0].setting
        numeric = SETTINGS[setting].kind != "choice"
        log = numeric and (setting in ("rate", "lamda") or log_spaced(axes[0].values))
        spec = landscape_1d(rows, setting, land.best, log, numeric, shown=chosen)
        what = "Validation accuracy (solid) and cost (dashed) against %s%s." % (setting, ", on a log axis" if log else "")
    st.vega_lite_chart(spec=spec, key="landscape", on_select=lambda: pick("landscape"), selection_mode="pick")
    best = "" if land.best is None else " The best so far, marked in red: %s." % plain(rows[land.best]["label"])
    clicked = any(i != land.best for i in chosen)
    st.caption(what + best + (" Dashed: the run clicked." if clicked else "") + " Click a run to see its curves below.")
    shown = [runs[i] for i in chosen if runs[i].history]
    if shown:
        st.markdown("**Curves of %s**" % ", ".join(plain(r.label) for r in shown))
        cost, accuracy = overlay(runs, shown, live=None)
        left, right = st.columns(2)
        left.vega_lite_chart(spec=cost, key="sweep_cost", height=CHART_HEIGHT + 80)
        right.vega_lite_chart(spec=accuracy, key="sweep_accuracy", height=CHART_HEIGHT + 80)
        st.caption(LINES + (" A run of one epoch is a single point." if any(len(r.history) == 1 for r in shown) else ""))
    finished = [r for r in runs if r.trained]
    if finished:
        st.markdown("**Save a run of this sweep as a model**")
        # The run last clicked, else the best: the one whose curves are shown above.
        clicked = [runs[i] for i in st.session_state.get("sweep_picked") or [] if i < len(runs) and runs[i].trained]
        best_run = runs[land.best] if land.best is not None and runs[land.best].trained else finished[-1]
        offered = clicked[-1] if clicked else best_run
        # Keyed by the run offered: when another is clicked or becomes the best, the picker offers it.
        save(offered, runs=finished, prefix="sweep_%s_" % offered.id)


def the_same_in_every_run(plan: SweepPlan) -> str:
    """The sweep's settings that no run changed, in words: once it has ended the sidebar may show
    other settings (the person's next), so the sweep says its own."""
    base, varied = plan.base, {a.setting for a in plan.axes}
    parts = []
    if not varied & {"layers", "width", "activation"}:
        parts.append(describe_layers(base.layer_data))
    parts.append(counted(base.epochs, "epoch"))
    if "n_train" not in varied:
        parts.append("all the training images" if base.n_train is None else "%s training images" % format(base.n_train, ","))
    if "mini_batch" not in varied:
        parts.append("mini_batch %s" % value_text(base.mini_batch))
    for setting in ("rate", "lamda", "dropout"):
        if setting not in varied:
            parts.append("%s %s" % (setting, value_text(float(getattr(base, setting)))))
    if "optimizer" not in varied:
        parts.append(OPTIMIZERS[base.optimizer].label)
    return "The same in every run of this sweep: %s." % ", ".join(parts)
