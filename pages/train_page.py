"""Train page: set the hyperparameters, train in the background (from scratch, or fine-tuning a
saved model, on MNIST, pen-drawn digits and the drawings kept here), watch every run's curves
together, pause, change the rate mid-run, save the model.

Settings stay put: they survive a trip to another page (``remember``) and live in the address's
query string, so that a reload keeps them and a link shares them."""

import dataclasses

import altair as alt
import pandas as pd
import streamlit as st

from nn_core import data, drawings, pendigits, runspec
from nn_core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from nn_core.download import download_mnist
from nn_core.drawings import DRAWINGS_WEIGHT, DrawingsError
from nn_core.runner import RunnerError, duration, max_pause_seconds
from nn_core.runs import Busy, RunsError
from nn_core.runspec import DataRecipe, RunSpec
from nn_core.network import INITS, dense_layers, describe_layers
from nn_core.optimizers import OPTIMIZERS
from nn_core.report import confusion_frame, describe
from nn_core.storage import ModelFileError, check_name, list_models, model_bytes, save_model
from nn_core.training import SCHEDULES, SLOW_SECONDS, TrainConfig, slow_choices, traps
from pages._curves import overlay
from pages._shared import (current_job, drawing_store, forget_runs_read, get_model, keep, my_runs, once_per_upload, plain, remember,
                           runner, visitor)

WIDTHS = [16, 32, 64, 128, 256, 512, 1024]
FULL_BATCH = "full batch"
MINI_BATCHES = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, FULL_BATCH]
RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0]
LAMDAS = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
DROPOUTS = [round(0.05 * i, 2) for i in range(11)]
VAL_FRACTIONS = [round(0.05 * i, 2) for i in range(7)]
ALL = "all"
IMAGES = [1000, 2000, 5000, 10000, 20000, 30000, ALL]
PEN_DRAWINGS = 4  # drawings of each pen-drawn digit when they are mixed in (as bench/pen_accuracy.py measures)
TRAINER = TrainConfig()
HIDDEN = TRAINER.layer_data["Dim"][1:-1]
NEW = "new random weights"
FINE_TUNE = {"epochs": 3, "rate": 1e-4, "n_train": 10000}  # a few epochs at a small rate keep what the model knew
NO_DRAWINGS, MINE, EVERYONE = "none", "mine", "everyone's"

# Every setting, by widget key, with its default: the one place the widgets, the address and
# the "which settings differ" note take them from.
DEFAULT = {
    "start_from": NEW, "n_hidden": len(HIDDEN), **{"neurons_%d" % (i + 1): HIDDEN[i] if i < len(HIDDEN) else 128 for i in range(4)},
    "activation": TRAINER.layer_data["Activs"][0], "init": TRAINER.init, "epochs": TRAINER.epochs,
    "mini_batch": TRAINER.mini_batch, "rate": TRAINER.rate, "lamda": TRAINER.lamda, "optimizer": TRAINER.optimizer,
    "schedule": TRAINER.schedule, "dropout": TRAINER.dropout, "augment": TRAINER.augment, "n_train": ALL,
    "pen_digits": TRAINER.pen_digits > 0, "drawings_of": NO_DRAWINGS, "drawings_weight": DRAWINGS_WEIGHT,
    "val_fraction": TRAINER.val_fraction, "seed": TRAINER.seed,
}


def allowed():
    """What each setting may be, for settings read from the address."""
    return {
        "start_from": [NEW] + list_models(), "n_hidden": list(range(5)), **{"neurons_%d" % i: WIDTHS for i in range(1, 5)},
        "activation": HIDDEN_ACTIVATIONS, "init": list(INITS), "epochs": list(range(1, 101)), "mini_batch": MINI_BATCHES,
        "rate": RATES, "lamda": LAMDAS, "optimizer": list(OPTIMIZERS), "schedule": list(SCHEDULES), "dropout": DROPOUTS,
        "augment": [False, True], "n_train": IMAGES, "pen_digits": [False, True], "drawings_of": [NO_DRAWINGS, MINE, EVERYONE],
        "drawings_weight": list(range(1, 101)), "val_fraction": VAL_FRACTIONS, "seed": range(2**31),
    }


def as_text(value):
    """A setting as it is written in the address."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "%g" % value if isinstance(value, float) else str(value)


def from_address():
    """Settings from the address's query string (``?epochs=12&activation=sigmoid``); a value
    that is not one of the setting's choices is left out, and named in a note (``refused``)."""
    choices, values, refused = allowed(), {}, []
    for key, text in st.query_params.items():
        if key not in choices:
            continue
        options = choices[key]
        if isinstance(options, range):
            # ASCII digits only ("²" is a digit to str.isdigit), and few of them (int() refuses over 4,300)
            value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) in options else None
        else:
            value = next((o for o in options if as_text(o) == text), None)
        if value is None:
            refused.append(key)
        else:
            values[key] = value
    if refused:
        st.session_state.refused = refused
    return values


def to_address():
    """Write the settings that differ from the defaults into the address (the layers in use only)."""
    unused = {"neurons_%d" % i for i in range(st.session_state.get("n_hidden", 0) + 1, 5)}
    wanted = {k: as_text(st.session_state[k]) for k in DEFAULT
              if k in st.session_state and k not in unused and st.session_state[k] != DEFAULT[k]}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


@dataclasses.dataclass
class Plan:
    """What Start trains: the hyperparameters, the model to fine-tune (None: new random weights),
    and whose kept drawings to add (a visitor id, ``EVERYONE`` or None), each counted ``weight`` times."""

    config: TrainConfig
    base: str | None = None
    drawings_of: str | None = None
    weight: int = DRAWINGS_WEIGHT


def fine_tune_preset():
    """When a saved model is picked to start from: the usual settings for fine-tuning."""
    if st.session_state.get("start_from", NEW) != NEW:
        st.session_state.update(FINE_TUNE)
        st.session_state.preset_note = True


def start_from(locked):
    """The "Start from" picker; returns the model to fine-tune (a ``Model``) and its name, or (None, None)."""
    name = st.selectbox("Start from", [NEW] + list_models(), key="start_from", on_change=fine_tune_preset, disabled=locked,
                        help="new random weights, or the weights of a saved model to fine-tune it (for example on your "
                             "drawings): its layers are kept, and a few epochs at a small rate are enough")
    if name == NEW:
        return None, None
    try:
        model = get_model(name)
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load %s: %s" % (name, exc)))
        return None, None
    st.caption("Fine-tuning %s: %s. Its layers are kept, so the layer settings are off." % (name, describe_layers(model.layer_data)))
    if st.session_state.pop("preset_note", False):
        st.info("Set for fine-tuning: %(epochs)d epochs, rate %(rate)g, %(n_train)d MNIST images. Change them if you like." % FINE_TUNE)
    return model, name


def drawings_choice(locked):
    """Whose kept drawings to add, and how much each counts: ``(drawings_of, weight)``."""
    options = {NO_DRAWINGS: None, MINE: visitor()}
    if drawings.sharing():
        options[EVERYONE] = runspec.EVERYONE
    try:
        store = drawing_store()
        counts = {k: 0 if v is None else store.count(None if v == runspec.EVERYONE else v) for k, v in options.items()}
    except DrawingsError as exc:
        st.warning(plain("The drawings kept here cannot be read: %s" % exc))
        return None, DRAWINGS_WEIGHT
    choice = st.selectbox("Drawings collected here", list(options), key="drawings_of", disabled=locked,
                          format_func=lambda k: k if k == NO_DRAWINGS else "%s (%d)" % (k, counts[k]),
                          help="add the drawings corrected on the Draw page (see My drawings) to the training images")
    weight = st.slider("Weight of each drawing", 1, 100, DEFAULT["drawings_weight"], key="drawings_weight",
                       disabled=locked or options[choice] is None,
                       help="each drawing counts as this many training images, so that a few are not drowned among "
                            "60,000; too high and the network learns them by heart. Try 10-50")
    return options[choice], weight


def live_change(key):
    """A rate or lamda moved while a run trains: the run takes it from its next mini-batch."""
    job = current_job()
    if job is not None and job.running:
        old = getattr(job.config, key)
        try:
            applied = job.change(**{key: st.session_state[key]})
        except ValueError as exc:
            st.session_state.live_note = "Not changed: %s" % exc
        else:
            st.session_state.live_note = ("%s of %s: %g → %g from its next mini-batch (marked on the curves)." % (key, plain(job.label), old, st.session_state[key])
                                          if applied else "%s has ended: the new %s is for the next run." % (plain(job.label), key))


def settings(locked):
    """The hyperparameter widgets; returns the ``Plan`` that Start would train (not yet
    validated). While a run trains (``locked``) only the rate and lamda can move: they change it."""
    st.subheader("Network", divider="gray")
    base, base_name = start_from(locked)
    fixed = locked or base is not None
    n_hidden = st.slider("Hidden layers", 0, 4, DEFAULT["n_hidden"], key="n_hidden", disabled=fixed,
                         help="layers of neurons between the 784 pixels and the 10 answers; 0 is plain softmax regression, try 1-2")
    hidden = [
        st.select_slider("Neurons in layer %d" % (i + 1), WIDTHS, DEFAULT["neurons_%d" % (i + 1)], key="neurons_%d" % (i + 1),
                         disabled=fixed, help="more neurons can learn more detail, and train more slowly; try 64-512")
        for i in range(n_hidden)
    ]
    activation = st.selectbox(
        "Activation of the hidden layers", HIDDEN_ACTIVATIONS, index=HIDDEN_ACTIVATIONS.index(DEFAULT["activation"]),
        format_func=lambda name: ACTIVATIONS[name].label, key="activation", disabled=fixed,
        help="what each hidden neuron does with its weighted sum; ReLU trains fastest, sigmoid is the classic one")
    inits = list(INITS)
    init = st.selectbox("Weight initialisation", inits, index=inits.index(DEFAULT["init"]), key="init", format_func=INITS.get,
                        disabled=fixed, help="the random weights training starts from; try the original to see a network start saturated")
    st.subheader("Training", divider="gray")
    if locked:
        st.caption("While your run trains, only the rate and lamda can change: they take effect from its next mini-batch. "
                   "Pause or stop it to change the rest for the next run.")
    epochs = st.slider("epochs", 1, 100, DEFAULT["epochs"], key="epochs", disabled=locked,
                       help="passes over all the training images; each adds one point to the curves. Try 5-30")
    mini_batch = st.select_slider("mini_batch (images per step; 1 is stochastic, full batch is batch gradient descent)", MINI_BATCHES,
                                  DEFAULT["mini_batch"], key="mini_batch", disabled=locked,
                                  help="images per weight update. 1 is stochastic gradient descent: noisy and slow; try 32-512")
    rate = st.select_slider("rate (learning rate, log scale)", RATES, DEFAULT["rate"], format_func=lambda r: "%g" % r, key="rate",
                            on_change=live_change, args=("rate",),
                            help="the size of each step downhill: too small crawls, too large diverges. Adam: try 0.001; "
                                 "gradient descent: 0.1-0.5. It can change while a run trains")
    lamda = st.select_slider("lamda (L2 regularisation)", LAMDAS, DEFAULT["lamda"], key="lamda", on_change=live_change, args=("lamda",),
                             help="a penalty on large weights, against overfitting; 0 for none, try 1-10 with gradient descent. "
                                  "It can change while a run trains")
    optimizers = list(OPTIMIZERS)
    optimizer = st.selectbox("Optimizer", optimizers, index=optimizers.index(DEFAULT["optimizer"]), format_func=lambda name: OPTIMIZERS[name].label,
                             key="optimizer", disabled=locked,
                             help="how gradients turn into steps: plain gradient descent as in the original design, with momentum, or Adam")
    schedules = list(SCHEDULES)
    schedule = st.selectbox("Learning-rate schedule", schedules, index=schedules.index(DEFAULT["schedule"]), format_func=SCHEDULES.get,
                            key="schedule", disabled=locked, help="how the rate changes from one epoch to the next")
    dropout = st.slider("Dropout", 0.0, 0.5, DEFAULT["dropout"], 0.05, key="dropout", disabled=locked,
                               help="the share of hidden neurons switched off at random at each step, against overfitting; try 0.2")
    augment = st.checkbox("Augment (train on randomly distorted digits; slower, better on drawings)", DEFAULT["augment"], key="augment",
                          disabled=locked, help="each image is shifted, turned, slanted and thickened a little at random before each step")
    st.subheader("Data", divider="gray")
    n_images = st.select_slider("Training images to use", IMAGES, DEFAULT["n_train"], key="n_train", disabled=locked,
                                help="how many of the MNIST training images to use, picked at random; fewer is faster")
    pen = 0
    if pendigits.pendigits_available():
        pen = PEN_DRAWINGS * st.checkbox(
            "Mix in pen-drawn digits", DEFAULT["pen_digits"], key="pen_digits", disabled=locked,
            help="add 7,494 digits written by 30 people on a tablet (each drawn %d times as on the canvas): "
                 "the network then reads your drawings better, such as a 9 with a curved tail or a 7 with a crossbar" % PEN_DRAWINGS)
    drawings_of, weight = drawings_choice(locked)
    val_fraction = st.slider("Validation fraction", 0.0, 0.3, DEFAULT["val_fraction"], 0.05, key="val_fraction", disabled=locked,
                                    help="the share of training images kept aside to draw the validation curves (pen-drawn digits by whole writers)")
    seed = st.number_input("Seed", 0, 2**31 - 1, DEFAULT["seed"], key="seed", disabled=locked,
                           help="the same seed and settings train the same network again; change it to see the randomness")
    config = TrainConfig(
        layer_data=base.layer_data if base is not None else dense_layers(hidden, activation),
        epochs=epochs, mini_batch=None if mini_batch == FULL_BATCH else mini_batch, rate=rate,
        lamda=lamda, optimizer=optimizer, schedule=schedule, dropout=dropout, augment=augment,
        val_fraction=val_fraction, n_train=None if n_images == ALL else n_images, seed=int(seed), init=init,
        pen_digits=pen,
    )
    return Plan(config, base_name, drawings_of, weight)


@dataclasses.dataclass
class DataChoice:
    """What this server can train on now: a recipe (MNIST, or an uploaded CSV by its path), its
    name, and how many training and test images it has."""

    recipe: DataRecipe
    name: str
    n_train: int
    n_test: int


def training_data():
    """The data to train on (a ``DataChoice``), or None with an explanation."""
    folder = data.data_dir()
    if data.mnist_available(folder):
        return DataChoice(DataRecipe(data_dir=str(folder)), "MNIST", runspec.MNIST_TRAIN, runspec.MNIST_TEST)
    st.warning("MNIST is not on this machine yet (it is looked for in the server's data folder, set by NN_CORE_DATA_DIR).")
    if st.button("Download MNIST (about 11 MB)", icon=":material/download:", key="download"):
        with st.status("Downloading MNIST ...", expanded=True) as status:
            bar = st.progress(0.0, text="Connecting ...")

            def progress(name, done, total):
                bar.progress(done / total if total else 0.0, text="%s: %.1f MB" % (name, done / 1e6))

            try:
                download_mnist(folder, progress=progress, log=st.text)
            except data.DataError as exc:
                status.update(label="Download failed", state="error")
                failure = exc
            else:
                status.update(label="MNIST downloaded and verified", state="complete")
                st.rerun()
        st.error(
            plain(str(failure).replace(str(folder), "the server's data folder"))
            + "\n\nOffline? Copy the four MNIST files into that folder (or set NN_CORE\\_DATA\\_DIR "
            "before starting the app), or upload Kaggle's train.csv below."
        )
    upload = st.file_uploader("Or train on Kaggle's digit-recognizer train.csv", type=["csv"], key="kaggle_csv")
    if upload is None:
        return None
    # Checked once per upload, in a process of its own: pandas takes a gigabyte and more for a
    # large CSV, which the server should never hold (nn_core.runspec.take_upload).
    with st.spinner("Reading %s ..." % plain(upload.name)):
        checked = once_per_upload(upload, "checked_upload", lambda u: runspec.take_upload(u.getvalue()), data.DataError)
    if isinstance(checked, data.DataError):
        st.error(plain("%s: %s" % (upload.name, checked)))
        return None
    path, rows = checked
    n_test = rows - round(rows * (1 - runspec.KAGGLE_TEST_FRACTION))
    st.caption(plain("Data: %s, %d labelled images; a tenth is held out as the test set." % (upload.name, rows)))
    return DataChoice(DataRecipe(kaggle_csv=path, kaggle_name=upload.name, kaggle_rows=rows), upload.name, rows - n_test, n_test)


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
        return
    finally:
        forget_runs_read()


def planned_images(plan, choice):
    """How many images the run would train on, and the caption that says so."""
    c = plan.config
    recipe = dataclasses.replace(choice.recipe, drawings_of=plan.drawings_of, drawings_weight=plan.weight)
    try:
        n = runspec.planned_images(RunSpec(c, recipe))
    except (DrawingsError, data.DataError):
        n = runspec.planned_images(RunSpec(c, dataclasses.replace(recipe, drawings_of=None)))
    parts = ["%s of the %s %s training images" % (format(n["base"], ","), format(n["base_total"], ","), plain(choice.name))]
    if n["pen"]:
        parts.append("%s pen-drawn (%s digits, each drawn %d times)" % (format(n["pen"], ","), format(n["pen_digits"], ","), c.pen_digits))
    if plan.drawings_of is not None:
        parts.append("%d kept drawings, each counted %d times" % (n["drawings"], plan.weight))
    caption = "Training on %s" % " + ".join(parts)
    if c.val_fraction:
        caption += "; %s of them train and %.0f%% are held out for the validation curves" % (format(n["trained"], ","), 100 * c.val_fraction)
    return n["trained"], caption + "; tested on %s images." % format(choice.n_test, ",")


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
        seconds = runner().expected_seconds(plan.config, max(n, 1))
        note_col.caption("About %s on this server." % duration(seconds))
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
        return "%s: %sepoch %d of %d, %.0f s so far%s" % (
            plain(job.label), "paused at " if job.paused else "", min(done + 1, job.config.epochs), job.config.epochs, job.elapsed,
            "" if left is None or job.paused else ", about %s left" % duration(left))
    return "%s: %s, %d epoch(s) in %.0f s" % (plain(job.label), job.status, done, job.elapsed)


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
    cost, accuracy = overlay(runs, shown, live=job)
    left, right = st.columns(2)
    left.vega_lite_chart(spec=cost, key="cost_chart")
    right.vega_lite_chart(spec=accuracy, key="accuracy_chart")
    if job.running:
        st.session_state.seen_running = job.id
    elif st.session_state.pop("seen_running", None) == job.id:  # it has just ended
        st.rerun()  # the whole page, to show the results


def results(job):
    if job.status == "failed" or job.status == "diverged":
        st.error(plain(job.message))
    elif job.status == "stopped":
        st.warning(plain(job.message))
    if job.result is None:
        return
    st.subheader("Results of %s" % plain(job.label))
    a, b, c = st.columns(3)
    a.metric("Test accuracy", "%.2f%%" % (100 * job.result["accuracy"]), help="on %d test images" % job.result["n"])
    b.metric("Training time", "%.0f s" % job.elapsed)
    c.metric("Epochs", len(job.history))
    cm = confusion_frame(job.result["confusion_matrix"])
    base = alt.Chart(cm).encode(x="predicted digit:O", y="true digit:O")
    base = base.properties(width=360, height=360)
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(type="symlog"), legend=None), tooltip=list(cm.columns))
    text = base.mark_text(fontSize=11).encode(text="count:Q", color=alt.condition(alt.datum.count > 200, alt.value("white"), alt.value("black")))
    st.markdown("**Confusion matrix** (rows: true digit, columns: what the network answered)")
    st.altair_chart(heat + text, width="content")

    finished = {r.label: r for r in my_runs() if r.result is not None}
    if len(finished) > 1:  # any of the person's runs can be saved, not only the latest
        labels = list(finished)
        chosen = st.selectbox("Run to save", labels, index=labels.index(job.label) if job.label in finished else len(labels) - 1,
                              key="save_which", format_func=lambda label: "%s (%.2f%%)" % (label, 100 * finished[label].result["accuracy"]),
                              help="the network of any of your finished runs, with its test accuracy")
        job = finished[chosen]
    name = st.text_input("Save as", value="my-model-%d" % len(my_runs()), key="save_name")
    model = job.model()
    a, b = st.columns(2)
    if a.button("Save model", icon=":material/save:", key="save"):
        try:
            check_name(name)
            path = save_model(name, model.params, model.layer_data, dict(model.meta, name=name, owner=visitor()), overwrite=False)
        except (ValueError, OSError) as exc:
            st.error(plain("Not saved: %s" % exc))
        else:
            st.success("Saved as %s. Pick it on the Draw page." % path.name)
    b.download_button("Download .npz", lambda: model_bytes(model.params, model.layer_data, model.meta), file_name="%s.npz" % name,
                      key="download_model", help="the model file, built when clicked")


def rename(runs):
    """The Rename button's callback (before the widgets are drawn, so the hidden list can follow)."""
    which, name = st.session_state.get("rename_which"), st.session_state.get("rename_to", "").strip()
    labels = [job.label for job in runs]
    if not name:
        st.session_state.rename_error = "Type a new name first."
    elif name in labels:
        st.session_state.rename_error = "Another run is called %s already." % name
    elif which in labels:
        try:
            runs[labels.index(which)].label = name
        except RunsError as exc:
            st.session_state.rename_error = str(exc)
            return
        forget_runs_read()
        st.session_state.hidden_runs = [name if h == which else h for h in st.session_state.get("hidden_runs", [])]
        st.session_state.rename_which = name


def runs_table():
    """The person's runs: which are on the charts, their names, and a table of results and settings."""
    runs = my_runs()
    if len(runs) < 2:
        return
    st.subheader("Your runs")
    labels = [job.label for job in runs]
    st.multiselect("Hide runs from the charts", labels, key="hidden_runs",
                   help="hide a run to see the others better; remove it from here to show it again. The run training now is always shown")
    with st.expander("Rename a run"):
        st.selectbox("Run", labels, key="rename_which", help="the run to rename")
        st.text_input("New name", key="rename_to", max_chars=40, help="a name that says what the run tried, such as 'sigmoid, rate 0.5'")
        st.button("Rename", key="rename", on_click=rename, args=(runs,), help="give the run its new name on the charts and in the table")
        if "rename_error" in st.session_state:
            st.error(plain(st.session_state.pop("rename_error")))
    table = pd.DataFrame(
        [dict(run=job.label, status=job.status,
              **{"test accuracy (%)": ("training" if job.running else "") if job.result is None else "%.2f" % (100 * job.result["accuracy"])},
              **{"time (s)": round(job.elapsed, 1)},
              **describe(job.config, job.n_train, job.batch_size, job.changes, len(job.history))) for job in runs]
    ).set_index("run")
    st.dataframe(table)


st.title("Train a network")
remember({**dict.fromkeys(DEFAULT), "start_from": [NEW] + list_models()}, first_visit=from_address)
job = current_job()
with st.sidebar:
    st.header("Hyperparameters")
    plan = settings(locked=job is not None and job.running)
keep(DEFAULT)
to_address()
if "refused" in st.session_state:
    st.warning("These settings in the address were not understood and are left as they were: %s."
               % ", ".join(st.session_state.pop("refused")))
dataset = training_data()
job = controls(plan, dataset, job)
running = job is not None and job.running
st.fragment(live_view, run_every=1.0 if running else None)()
if job is not None and not job.running:
    results(job)
runs_table()
