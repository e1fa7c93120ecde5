"""The Train page's run control (not a page): Start (a ``RunSpec`` sent to the ``Runner``), Pause,
Resume and Stop, what a run would cost, and its progress and curves while it trains."""

import dataclasses

import streamlit as st

from nn_core import data, runspec
from nn_core.drawings import DrawingsError
from nn_core.runner import RunnerError, duration, max_pause_seconds
from nn_core.runs import Busy, RunsError
from nn_core.runspec import RunSpec
from nn_core.storage import ModelFileError
from nn_core.training import SLOW_SECONDS, slow_choices, traps
from pages._curves import CHART_HEIGHT, CURVES, HEALTH, HEALTH_HEIGHT, health_charts, log_scale_helps, overlay
from pages._train_data import planned_images
from pages._models import get_model
from pages._people import current_job, my_runs, runner, visitor
from pages._widgets import plain, seconds

def start(plan, choice):
    job = current_job()
    if job is not None and job.running:
        st.warning("A network is already training. Stop it, or wait until it finishes, before starting another.")
        return
    recipe = dataclasses.replace(choice.recipe, drawings_of=plan.drawings_of, drawings_weight=plan.weight)
    if plan.drawings_of is not None:
        try:
            if runspec.kept_drawings_count(recipe) == 0:
                st.warning("There are no kept drawings to train on yet: correct a few on the Draw page, or choose none.")
                return
        except DrawingsError as exc:
            st.error(plain(str(exc)))
            return
    labels = {run.label for run in my_runs()}
    label = next("run %d" % n for n in range(len(labels) + 1, len(labels) + 1000) if "run %d" % n not in labels)
    spec = RunSpec(plan.config, recipe, started_from=plan.base, owner=visitor(), label=label)
    try:
        params = get_model(plan.base).params if plan.base else None
        runner().submit(spec, params=params)
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load %s to fine-tune: %s" % (plan.base, exc)))
        return
    except Busy as exc:
        st.warning(plain("Not started: %s." % exc), icon=":material/hourglass:")
        return
    except (ValueError, data.DataError, DrawingsError) as exc:
        st.error(plain("Cannot train with these settings: %s" % exc))
        return
    except (RunnerError, RunsError) as exc:
        st.error(plain("Not started: %s" % exc))



def differences(config, running):
    """The settings in which ``config`` (the sidebar) differs from the ``running`` run's, in words."""
    a, b = config.to_dict(), running.to_dict()
    names = {"layer_data": "layers", "n_train": "training images", "pen_digits": "pen-drawn digits"}
    out = []
    for key in a:
        if key != "pen_holdout" and a[key] != b[key]:
            show = (lambda v: "-".join(map(str, v["Dim"])) + " " + v["Activs"][0]) if key == "layer_data" else (lambda v: v)
            out.append("%s %s (sidebar: %s)" % (names.get(key, key), show(b[key]), show(a[key])))
    return out


def controls(plan, dataset, job):
    """Start, Pause / Resume and Stop in one row, with what Start would cost."""
    busy = job is not None and job.running
    start_col, pause_col, stop_col, note_col = st.columns([1, 1, 1, 4], vertical_alignment="center")
    if start_col.button("Start", type="primary", icon=":material/play_arrow:", disabled=dataset is None or busy, key="start",
                        help="Train a new network with the settings in the sidebar" if not busy else "A run of yours is going: stop it first"):
        start(plan, dataset)
        job = current_job()
        busy = job is not None and job.running
    # Callbacks, so that the buttons are drawn as they now are (Resume in place of Pause) at once.
    if busy and job.paused:
        pause_col.button("Resume", icon=":material/resume:", key="resume", on_click=job.resume,
                         help="carry on training from where it was held")
    else:
        pause_col.button("Pause", icon=":material/pause:", key="pause", disabled=not busy or job.queued,
                         on_click=None if job is None else job.pause,
                         help="hold the run between two mini-batches; change the rate or lamda, then resume")
    if stop_col.button("Stop", icon=":material/stop:", disabled=not busy, key="stop", on_click=None if job is None else job.stop,
                       help="end the run; its network so far is kept"):
        st.toast("Stopping at the end of this mini-batch ...")
    if dataset is not None and not busy:
        n, caption = planned_images(plan, dataset)
        expected = runner().expected_seconds(plan.config, max(n, 1))
        seconds = expected.seconds
        note_col.caption("%s from Start to the results, on this server now." % expected,
                         help="building the data, training, and measuring the test set; as the last runs here went")
        st.caption(caption)
        found = traps(plan.config)
        if found:
            st.warning("These settings may keep the network from learning: %s." % "; ".join(found), icon=":material/warning:")
        if seconds > SLOW_SECONDS:
            reasons = slow_choices(plan.config, n)
            st.warning("This run would take about %s: %s." % (duration(seconds), "; ".join(reasons) or "fewer images or epochs make it shorter"),
                       icon=":material/hourglass:")
    elif busy:
        differ = differences(plan.config, job.config)
        if differ:
            note_col.caption("The sidebar differs from %s, which is training: %s." % (plain(job.label), "; ".join(differ)))
    if "live_note" in st.session_state:
        st.info(st.session_state.pop("live_note"), icon=":material/tune:")
    return job


def progress_text(job):
    ahead = job.ahead
    if ahead is not None:
        return "%s: waiting for a free place on this server, %s" % (
            plain(job.label), "next to start" if ahead == 0 else "%d run%s ahead of yours" % (ahead, "" if ahead == 1 else "s"))
    done = len(job.history)
    if job.running:
        left = job.seconds_left
        return "%s: %sepoch %d of %d, %s so far%s" % (
            plain(job.label), "paused at " if job.paused else "", min(done + 1, job.config.epochs), job.config.epochs, seconds(job.elapsed),
            "" if left is None or job.paused else ", about %s left" % duration(left))
    return "%s: %s, %d epoch(s) in %s" % (plain(job.label), job.status, done, seconds(job.elapsed))


def live_view():
    """Progress and every shown run's curves; re-run every second while a run trains. Fixed
    keys keep each chart the same element from one refresh to the next, so new points are added
    to it instead of the chart being drawn anew."""
    job = current_job()
    if job is None:
        st.info("Set the hyperparameters and press Start. The curves grow by one point per epoch, and the thin line "
                "follows the cost mini-batch by mini-batch.")
        return
    # The progress bar is always drawn, so that the charts below keep their place on the page.
    st.progress(job.progress, text=progress_text(job))
    if job.paused:
        st.caption("While it is paused the run keeps its place on this server; if others are waiting for one, it is "
                   "stopped after %s (its network so far is kept)." % duration(max_pause_seconds()))
    if job.notice:
        st.warning(job.notice)
    runs = my_runs()
    hidden = st.session_state.get("hidden_runs", [])
    shown = [r for r in runs if r.label not in hidden or r == job]
    if not st.session_state.get("log_cost_chosen"):  # until the person chooses, on when a linear axis would flatten a run
        st.session_state.log_cost = log_scale_helps(shown)
    cost, accuracy = overlay(runs, shown, live=job, log=st.session_state.log_cost)
    left, right = st.columns(2)
    left.vega_lite_chart(spec=cost, key="cost_chart", height=CHART_HEIGHT + 80)
    right.vega_lite_chart(spec=accuracy, key="accuracy_chart", height=CHART_HEIGHT + 80)
    st.caption(CURVES)
    left.toggle("Log scale for the cost", key="log_cost", on_change=lambda: st.session_state.update(log_cost_chosen=True),
                help="on a log scale a run at cost 30 and one at 0.1 both show how they fall; it is on by itself when "
                     "the runs' costs differ more than ten times")
    note = accuracy_note(job)
    if note:
        right.caption(note)
    health(job)
    if job.running:
        st.session_state.seen_running = job.id
    elif st.session_state.pop("seen_running", None) == job.id:  # it has just ended
        st.rerun()  # the whole page, to show the results



def accuracy_note(job):
    """Why training accuracy can sit below validation accuracy, when it does."""
    last = job.history[-1] if job.history else None
    if last is None or last.val_acc is None or last.train_acc >= last.val_acc:
        return None
    why = [w for w, on in (("dropout switches off a share of the neurons while training (never when measuring)", job.config.dropout > 0),
                           ("augmentation trains on distorted digits, harder than the plain ones measured", job.config.augment)) if on]
    if not why:
        return None
    return "Training accuracy is below validation accuracy because %s: the network is handicapped while it trains." % " and ".join(why)


def health(job):
    """The network's health, layer by layer, epoch by epoch (see nn_core.health)."""
    charts = health_charts(job)
    if charts is None:
        return
    with st.expander("Network health: is every layer learning?", expanded=job.running):
        columns = st.columns(3)
        for column, chart, (_, title, meaning) in zip(columns, charts, HEALTH):
            column.markdown("**%s**" % title.capitalize())
            column.vega_lite_chart(spec=chart, key="health_" + title, height=HEALTH_HEIGHT + 60)  # the plot and its legend
            column.caption(meaning)
