"""The Train page's Sweep tab (not a page): choose one or two settings and their values, see how
many runs that makes and how long they take, start them all as one sweep (``Runner.start_sweep``),
and watch the landscape fill in: accuracy against the values, or a heatmap for two settings. A
click on a point or cell shows that run's curves; any run of the sweep can be saved as a model.

The other settings are the sidebar's. The form's choices stay when another tab or page is
visited (``remember``) and live in the address (``vary``, ``vary2``: ``rate:0.0001:0.1:4:log``,
``activation:relu,tanh``), so that a link shares the sweep, not the person. The sweep itself is
read back from the run store: a reload or a new tab shows it again."""

from __future__ import annotations

import streamlit as st

from nn_core import runspec, sweeps
from nn_core.estimate import duration_range
from nn_core.refused import Refused
from nn_core.runs import RunsError
from nn_core.runspec import RunSpec
from nn_core.sweep import SETTINGS, Axis, SweepPlan, check, max_sweep_runs, values
from nn_core.words import counted
from pages._curves import CHART_HEIGHT, CURVES, overlay
from pages._people import runner, visitor
from pages._sweep_charts import NAMES, landscape_1d, landscape_2d, picked, value_text
from pages._train_data import recipe_of
from pages._train_results import save
from pages._widgets import KEPT, keep, plain, remember

LIVE_EVERY = 1.0  # seconds between two refreshes while a sweep is under way
NOTHING = "nothing"  # the second setting when only one is varied
# The range first offered for each setting that is a number: (low, high, how many values).
RANGES = {
    "rate": (1e-4, 0.1, 4),
    "lamda": (0.1, 10.0, 3),
    "layers": (0, 3, 4),
    "width": (32, 256, 4),
    "mini_batch": (16, 256, 3),
    "dropout": (0.0, 0.4, 3),
    "n_train": (1000, 10000, 3),
}


def _keys(n: int, setting: str) -> dict[str, str]:
    """The widget keys of axis ``n``'s values for ``setting`` (each setting keeps its own)."""
    return {part: "sweep_%d_%s_%s" % (n, setting, part) for part in ("low", "high", "count", "log", "choices")}


def _defaults(n: int, setting: str) -> dict:
    s, keys = SETTINGS[setting], _keys(n, setting)
    if s.kind == "choice":
        return {keys["choices"]: list(s.choices[:2])}
    low, high, count = RANGES[setting]
    return {keys["low"]: low, keys["high"]: high, keys["count"]: count, keys["log"]: s.log}


def form_keys() -> list[str]:
    """Every widget key of the form, for ``remember`` and ``keep``."""
    keys = ["sweep_1", "sweep_2"]
    for n in (1, 2):
        for setting in SETTINGS:
            keys += list(_defaults(n, setting))
    return keys


def _address_text(n: int) -> str | None:
    """Axis ``n`` of the form as it is written in the address, or None when it is not set."""
    setting = st.session_state.get("sweep_%d" % n, st.session_state.get(KEPT + "sweep_%d" % n))
    if setting not in SETTINGS:
        return None
    keys = _keys(n, setting)
    got = {part: st.session_state.get(key, st.session_state.get(KEPT + key)) for part, key in keys.items()}
    if SETTINGS[setting].kind == "choice":
        return "%s:%s" % (setting, ",".join(got["choices"] or []))
    if got["low"] is None:
        return None
    return "%s:%g:%g:%d:%s" % (setting, got["low"], got["high"], got["count"], "log" if got["log"] else "even")


def address() -> dict[str, str]:
    """The form in the address's words, for ``to_address``: {} unless the Sweep tab is open."""
    out = {}
    for n, name in ((1, "vary"), (2, "vary2")):
        text = _address_text(n)
        if text is not None:
            out[name] = text
    return out


def from_address() -> dict:
    """The form's widget values from the address's ``vary`` and ``vary2`` (first visit only);
    a value that is not understood is left out."""
    found = {}
    for n, name in ((1, "vary"), (2, "vary2")):
        text = st.query_params.get(name)
        if not text:
            continue
        setting, _, rest = text.partition(":")
        if setting not in SETTINGS or (n == 2 and setting == found.get("sweep_1")):
            continue
        keys, s = _keys(n, setting), SETTINGS[setting]
        try:
            if s.kind == "choice":
                chosen = list(dict.fromkeys(c for c in rest.split(",") if c in s.choices))
                if chosen:
                    found.update({"sweep_%d" % n: setting, keys["choices"]: chosen})
                continue
            low, high, count, spacing = rest.split(":")
            number = float if s.kind == "number" else int
            low, high = number(float(low)), number(float(high))
            least = 1e-6 if setting == "rate" else s.low  # (the From and To boxes' own bounds)
            if not (least <= low <= s.high and least <= high <= s.high):  # (NaN too): a box refuses it
                continue
            found.update(
                {
                    "sweep_%d" % n: setting,
                    keys["low"]: low,
                    keys["high"]: high,
                    keys["count"]: max(1, min(int(count), max_sweep_runs())),
                    keys["log"]: spacing == "log",
                }
            )
        except (ValueError, OverflowError):
            continue
    return found


def axis_form(n: int, where, exclude: str | None) -> Axis | None:
    """Axis ``n``'s widgets in ``where`` (a column): which setting, and its values (a range for
    numbers, a list for choices). Returns the ``Axis``, or None (nothing chosen, or values not
    understood: said under the widgets)."""
    options = ([NOTHING] if n == 2 else []) + [k for k in SETTINGS if k != exclude]
    if st.session_state.get("sweep_%d" % n) not in options:
        st.session_state["sweep_%d" % n] = options[0]
    setting = where.selectbox(
        "First setting to vary" if n == 1 else "Second setting to vary (optional)",
        options,
        key="sweep_%d" % n,
        format_func=lambda k: k if k == NOTHING else NAMES.get(k, k).replace("widest hidden layer", "each hidden layer"),
        help=(
            "the setting that changes from one run to the next; every other setting is the sidebar's"
            if n == 1
            else "with a second setting, every value of the first is tried with every value of the second: a grid"
        )
        + ". "
        + "; ".join("%s: %s" % (k, SETTINGS[k].words.replace("`", "")) for k in SETTINGS),
    )
    if setting == NOTHING:
        return None
    s, keys = SETTINGS[setting], _keys(n, setting)
    for key, value in _defaults(n, setting).items():
        st.session_state.setdefault(key, value)
    if s.kind == "choice":
        chosen = where.multiselect("Values of %s" % setting, list(s.choices), key=keys["choices"])
        return Axis(setting, list(chosen)) if chosen else None
    number = float if s.kind == "number" else int
    st.session_state[keys["count"]] = min(st.session_state[keys["count"]], max_sweep_runs())  # (the server's limit may be lower)
    low_col, high_col = where.columns(2)
    bounds = dict(min_value=number(s.low), max_value=number(s.high))
    if setting == "rate":
        bounds["min_value"] = 1e-6
    fmt = "%g" if s.kind == "number" else "%d"
    low = low_col.number_input("From", key=keys["low"], format=fmt, **bounds, help="the smallest value tried")
    high = high_col.number_input("To", key=keys["high"], format=fmt, **bounds, help="the largest value tried")
    count = where.slider("How many values", 1, max_sweep_runs(), key=keys["count"], help="values from From to To, both included")
    log = where.checkbox(
        "Log scale",
        key=keys["log"],
        help="each value a constant multiple of the one before: for settings that matter by their order of "
        "magnitude, such as the rate, 0.0001, 0.001, 0.01 rather than 0.0001, 0.0334, 0.0667",
    )
    try:
        axis = Axis(setting, values(setting, number(low), number(high), int(count), log))
    except ValueError as exc:
        where.error(plain(str(exc)))
        return None
    where.caption("%s: %s" % (setting, ", ".join(value_text(v) for v in axis.values)))
    return axis


def estimate(plan: SweepPlan, dataset, sidebar) -> str:
    """How long the sweep should take, in words (``sweeps.expected``: each run's expected time,
    side by side on the free workers)."""
    n = runspec.planned_images(RunSpec(plan.base, recipe_of(sidebar, dataset)))["trained"]
    expected = sweeps.expected(runner(), plan, max(n, 1))
    workers = min(runner().workers(), len(plan))
    return "%s from Start to the last result: each run's expected time, added up and shared among this server's %s%s." % (
        duration_range(expected.low, expected.high).capitalize(),
        counted(runner().workers(), "worker"),
        " (%d runs at a time while no one else is waiting)" % workers if workers > 1 else "",
    )


def start(plan: SweepPlan, sidebar, dataset) -> None:
    """Start's callback: the sweep is asked for; why not, if it is not, is kept for the page to say."""
    spec = RunSpec(sidebar.config, recipe_of(sidebar, dataset), owner=visitor(), label=next_label())
    try:
        started = runner().start_sweep(plan, spec)
    except Refused as exc:
        st.session_state.sweep_note = plain(str(exc))
        return
    st.session_state.sweep_shown = started.id
    st.session_state.sweep_picked = []


def next_label() -> str:
    try:
        n = len(runner().sweeps_of(visitor()))
    except RunsError:
        n = 0
    return "sweep %d" % (n + 1)


def restore() -> None:
    """Give the form back its choices (another tab or page visited meanwhile), or on a first
    visit take them from the address: before the address is written again."""
    remember(dict.fromkeys(form_keys()), first_visit=from_address)


def going() -> bool:
    """Whether the person's latest sweep is under way."""
    try:
        mine = runner().sweeps_of(visitor())
    except RunsError:
        return False
    return bool(mine) and mine[-1].running


def form(sidebar, dataset, busy: bool) -> None:
    """The form: what to vary, how many runs and how long, and Start (or why not)."""
    st.markdown(
        "**Try several values of one or two settings at once** and see which works best. Every run uses the sidebar's "
        "other settings; the runs train side by side on this server's free workers."
    )
    left, right = st.columns(2, gap="large")
    first = axis_form(1, left, None)
    second = axis_form(2, right, st.session_state.get("sweep_1"))
    keep(form_keys())
    if first is None:
        return
    plan = SweepPlan([first] + ([second] if second is not None else []), sidebar.config)
    problem = None
    if sidebar.base is not None:
        problem = "A sweep trains new networks from random weights: set Start from (in the sidebar) to new random weights."
    elif dataset is None:
        problem = "There is no data to train on yet (see above)."
    else:
        try:
            check(plan, n_available=dataset.n_train)
            for one in sweeps.run_specs(plan, RunSpec(sidebar.config, recipe_of(sidebar, dataset))):
                runner().check(one)
        except ValueError as exc:
            problem = "This sweep cannot start: %s." % str(exc).rstrip(".")
    n = len(plan)
    st.markdown(
        "**%s**: %s"
        % (counted(n, "run"), " × ".join("%s of %s" % (counted(len(a.values), "value"), a.setting) for a in plan.axes))
    )
    if problem is None:
        try:
            st.caption(estimate(plan, dataset, sidebar))
        except RunsError as exc:
            st.caption(plain("How long it takes is not known now: %s" % exc))
    st.button(
        "Start sweep",
        type="primary",
        icon=":material/grid_view:",
        key="start_sweep",
        disabled=problem is not None or busy,
        on_click=start,
        args=(plan, sidebar, dataset),
        help="train all %s; what each finds fills in the chart below as it ends" % counted(n, "run")
        if not busy
        else "your sweep or run is under way: stop it or wait until it ends",
    )
    if problem is not None:
        st.error(plain(problem))
    note = st.session_state.pop("sweep_note", None)
    if note:
        st.warning(note, icon=":material/hourglass:")


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


def sweep_tab(sidebar, dataset) -> None:
    """The Sweep tab: the form, then the sweep shown, live while it runs."""
    current, mine = shown_sweep()
    going = current is not None and current.running
    form(sidebar, dataset, busy=going)
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
    land = current.landscape()
    rows = [dict(r, status=r.get("status") or runs[r["index"]].status) for r in land.rows]
    axes = current.plan.axes
    if len(axes) == 2:
        spec = landscape_2d(rows, [a.setting for a in axes], land.best)
        what = "Validation accuracy of each run (rows: %s, columns: %s)." % (axes[0].setting, axes[1].setting)
    else:
        setting = axes[0].setting
        numeric = SETTINGS[setting].kind != "choice"
        log = numeric and (setting in ("rate", "lamda") or _log_spaced(axes[0].values))
        spec = landscape_1d(rows, setting, land.best, log, numeric)
        what = "Validation accuracy (solid) and cost (dashed) against %s%s." % (setting, ", on a log axis" if log else "")
    st.vega_lite_chart(spec=spec, key="landscape", on_select=lambda: pick("landscape"), selection_mode="pick")
    best = "" if land.best is None else " The best so far, marked in red: %s." % plain(rows[land.best]["label"])
    st.caption(what + best + " Click a run to see its curves below.")
    chosen = [i for i in st.session_state.get("sweep_picked") or [] if i < len(runs)] or (
        [land.best] if land.best is not None else []
    )
    shown = [runs[i] for i in chosen if runs[i].history]
    if shown:
        st.markdown("**Curves of %s**" % ", ".join(plain(r.label) for r in shown))
        cost, accuracy = overlay(runs, shown, live=None)
        left, right = st.columns(2)
        left.vega_lite_chart(spec=cost, key="sweep_cost", height=CHART_HEIGHT + 80)
        right.vega_lite_chart(spec=accuracy, key="sweep_accuracy", height=CHART_HEIGHT + 80)
        st.caption(CURVES)
    finished = [r for r in runs if r.trained]
    if finished:
        st.markdown("**Save a run of this sweep as a model**")
        best_run = runs[land.best] if land.best is not None and runs[land.best].trained else finished[-1]
        # Keyed by the best run: when another becomes the best, the picker offers it, whatever it offered before.
        save(best_run, runs=finished, prefix="sweep_%s_" % best_run.id)


def _log_spaced(vals: list) -> bool:
    """Whether numbers grow by about the same factor each time (then a log axis shows them evenly)."""
    nums = [v for v in vals if isinstance(v, (int, float)) and v > 0]
    if len(nums) < 3 or len(nums) != len(vals):
        return False
    ratios = [b / a for a, b in zip(nums, nums[1:])]
    return min(ratios) > 1.5 and max(ratios) / min(ratios) < 1.3
