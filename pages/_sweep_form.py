"""The Sweep tab's form (not a page): which one or two settings to vary and their values, how many
runs that makes and how long they take, Start, or why not in words. The other settings are the
sidebar's. Its choices stay when another tab or page is visited (``remember``) and live in the
address (``vary``, ``vary2``: ``rate:0.0001:0.1:4:log``, ``activation:relu,tanh``), so that a link
shares the sweep, not the person."""

from __future__ import annotations

import streamlit as st

from nn_core import runspec, sweeps
from nn_core.estimate import duration_range
from nn_core.refused import Refused
from nn_core.runs import RunsError
from nn_core.runspec import RunSpec
from nn_core.sweep import SETTINGS, Axis, SweepPlan, check, max_sweep_runs, values
from nn_core.words import counted
from pages._people import runner, visitor
from pages._sweep_charts import NAMES, value_text
from pages._train_data import recipe_of
from pages._widgets import KEPT, first_sight, keep, plain, remember

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
    return from_texts([st.query_params.get("vary"), st.query_params.get("vary2")])


def axis_text(axis: Axis) -> str:
    """An axis in the address's words: ``rate:0.0001:0.01:3:log``, ``optimizer:gd,adam``."""
    s = SETTINGS[axis.setting]
    if s.kind == "choice":
        return "%s:%s" % (axis.setting, ",".join(map(str, axis.values)))
    n = len(axis.values)
    log = s.log if n < 3 else log_spaced(axis.values)
    return "%s:%g:%g:%d:%s" % (axis.setting, min(axis.values), max(axis.values), n, "log" if log else "even")


def log_spaced(vals: list) -> bool:
    """Whether numbers grow by about the same factor each time (then a log axis shows them evenly)."""
    nums = [v for v in vals if isinstance(v, (int, float)) and v > 0]
    if len(nums) < 3 or len(nums) != len(vals):
        return False
    ratios = [b / a for a, b in zip(nums, nums[1:])]
    return min(ratios) > 1.5 and max(ratios) / min(ratios) < 1.3


def follow(sweep) -> None:
    """Show the person's sweep under way in the form, as it was started: the first time this
    session draws it (a reload, a new tab), after ``restore``."""
    if sweep is None or not first_sight("sweep_form", sweep.id):
        return
    st.session_state.update(from_texts([axis_text(a) for a in sweep.plan.axes] + [None]))
    if len(sweep.plan.axes) == 1:
        st.session_state.sweep_2 = NOTHING


def from_texts(texts: list[str | None]) -> dict:
    """The form's widget values from the address's words for its two axes (each may be None);
    a value that is not understood is left out."""
    found: dict = {}
    for n, text in ((1, texts[0]), (2, texts[1])):
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


def axis_form(n: int, where, exclude: str | None) -> Axis | str | None:
    """Axis ``n``'s widgets in ``where`` (a column): which setting, and its values (a range for
    numbers, a list for choices). Returns the ``Axis``; None when no setting is chosen; or, when
    its values cannot make a sweep, why (said under the widgets too)."""
    options = ([NOTHING] if n == 2 else []) + [k for k in SETTINGS if k != exclude]
    if st.session_state.get("sweep_%d" % n) not in options:
        st.session_state["sweep_%d" % n] = options[0]
    setting = where.selectbox(
        "First setting to vary" if n == 1 else "Second setting to vary (optional)",
        options,
        key="sweep_%d" % n,
        format_func=lambda k: k if k == NOTHING else NAMES.get(k, k).replace("the widest hidden layer", "each hidden layer"),
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
        return Axis(setting, list(chosen)) if chosen else "choose at least one value of %s" % setting
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
        return str(exc)
    where.caption("%s: %s" % (setting, ", ".join(value_text(v) for v in axis.values)))
    return axis


def estimate(plan: SweepPlan, dataset, sidebar) -> str:
    """How long the sweep should take, in words (``sweeps.expected``: each run's expected time,
    side by side on the free workers)."""
    recipe = recipe_of(sidebar, dataset)
    counts = [max(1, runspec.planned_images(RunSpec(config, recipe))["trained"]) for config in plan.configs()]
    expected = sweeps.expected(runner(), plan, counts)
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
    if not isinstance(first, Axis) or isinstance(second, str):
        # Greyed, not gone: the reason is said under the values, and in the button's help.
        why = next((a for a in (first, second) if isinstance(a, str)), "choose a setting to vary")
        st.button("Start sweep", type="primary", icon=":material/grid_view:", key="start_sweep", disabled=True, help=why)
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
            specs = sweeps.run_specs(plan, RunSpec(sidebar.config, recipe_of(sidebar, dataset)))
            for k, one in enumerate(specs):
                try:
                    runner().check(one)  # (as Start will: its images, memory and time on this server)
                except ValueError as exc:
                    raise ValueError("its run %d of %d (%s): %s" % (k + 1, len(specs), one.label, exc)) from exc
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
