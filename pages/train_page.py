"""Train page: set the hyperparameters, train in the background (from scratch, or fine-tuning a
saved model, on MNIST, pen-drawn digits and the drawings kept here), watch the curves, save the model."""

import dataclasses

import altair as alt
import pandas as pd
import streamlit as st

from nn_core import data, drawings, pendigits
from nn_core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from nn_core.download import download_mnist
from nn_core.jobs import TrainingJob
from nn_core.drawings import DRAWINGS_WEIGHT, DrawingsError
from nn_core.network import INITS, dense_layers, describe_layers
from nn_core.optimizers import OPTIMIZERS
from nn_core.report import COLUMNS, compare_frame, confusion_frame, describe, history_frame
from nn_core.storage import ModelFileError, check_name, list_models, model_bytes, save_model
from nn_core.training import SCHEDULES, TrainConfig
from pages._shared import current_job, drawing_store, get_model, mnist, page_alive, pen_drawn, plain, visitor

WIDTHS = [16, 32, 64, 128, 256, 512, 1024]
FULL_BATCH = "full batch"
MINI_BATCHES = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, FULL_BATCH]
RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0]
LAMDAS = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
ALL = "all"
IMAGES = [1000, 2000, 5000, 10000, 20000, 30000, ALL]
PEN_DRAWINGS = 4  # drawings of each pen-drawn digit when they are mixed in (as bench/pen_accuracy.py measures)
DEFAULTS = TrainConfig()
DEFAULT_HIDDEN = DEFAULTS.layer_data["Dim"][1:-1]
NEW = "new random weights"
FINE_TUNE = {"epochs": 3, "rate": 1e-4, "n_train": 10000}  # a few epochs at a small rate keep what the model knew
NO_DRAWINGS, MINE, EVERYONE = "none", "mine", "everyone's"


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


def start_from():
    """The "Start from" picker; returns the model to fine-tune (a ``Model``) and its name, or (None, None)."""
    name = st.selectbox("Start from", [NEW] + list_models(), key="start_from", on_change=fine_tune_preset,
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


def drawings_choice():
    """Whose kept drawings to add, and how much each counts: ``(drawings_of, weight)``."""
    options = {NO_DRAWINGS: None, MINE: visitor()}
    if drawings.sharing():
        options[EVERYONE] = EVERYONE
    try:
        store = drawing_store()
        counts = {k: 0 if v is None else store.count(None if v == EVERYONE else v) for k, v in options.items()}
    except DrawingsError as exc:
        st.warning(plain("The drawings kept here cannot be read: %s" % exc))
        return None, DRAWINGS_WEIGHT
    choice = st.selectbox("Drawings collected here", list(options), key="drawings_of",
                          format_func=lambda k: k if k == NO_DRAWINGS else "%s (%d)" % (k, counts[k]),
                          help="add the drawings corrected on the Draw page (see My drawings) to the training images")
    weight = st.slider("Weight of each drawing", 1, 100, DRAWINGS_WEIGHT, key="drawings_weight", disabled=options[choice] is None,
                       help="each drawing counts as this many training images, so that a few are not drowned among "
                            "60,000; too high and the network learns them by heart. Try 10-50")
    return options[choice], weight


def settings():
    """The hyperparameter widgets; returns the ``Plan`` that Start would train (not yet validated)."""
    st.subheader("Network", divider="gray")
    base, base_name = start_from()
    fixed = base is not None
    n_hidden = st.slider("Hidden layers", 0, 4, len(DEFAULT_HIDDEN), key="n_hidden", disabled=fixed,
                         help="layers of neurons between the 784 pixels and the 10 answers; 0 is plain softmax regression, try 1-2")
    hidden = [
        st.select_slider("Neurons in layer %d" % (i + 1), WIDTHS, DEFAULT_HIDDEN[i] if i < len(DEFAULT_HIDDEN) else 128, key="neurons_%d" % (i + 1),
                         disabled=fixed, help="more neurons can learn more detail, and train more slowly; try 64-512")
        for i in range(n_hidden)
    ]
    activation = st.selectbox(
        "Activation of the hidden layers", HIDDEN_ACTIVATIONS, index=HIDDEN_ACTIVATIONS.index(DEFAULTS.layer_data["Activs"][0]),
        format_func=lambda name: ACTIVATIONS[name].label, key="activation", disabled=fixed,
        help="what each hidden neuron does with its weighted sum; ReLU trains fastest, sigmoid is the classic one")
    inits = list(INITS)
    init = st.selectbox("Weight initialisation", inits, index=inits.index(DEFAULTS.init), key="init", format_func=INITS.get,
                        disabled=fixed, help="the random weights training starts from; try the original to see a network start saturated")
    st.subheader("Training", divider="gray")
    epochs = st.slider("epochs", 1, 100, DEFAULTS.epochs, key="epochs",
                       help="passes over all the training images; each adds one point to the curves. Try 5-30")
    mini_batch = st.select_slider("mini_batch (1 is stochastic, full batch is batch gradient descent)", MINI_BATCHES, DEFAULTS.mini_batch, key="mini_batch",
                                  help="images per weight update. 1 is stochastic gradient descent: noisy and slow; try 32-512")
    rate = st.select_slider("rate (learning rate, log scale)", RATES, DEFAULTS.rate, format_func=lambda r: "%g" % r, key="rate",
                            help="the size of each step downhill: too small crawls, too large diverges. Adam: try 0.001; gradient descent: 0.1-0.5")
    lamda = st.select_slider("lamda (L2 regularisation)", LAMDAS, DEFAULTS.lamda, key="lamda",
                             help="a penalty on large weights, against overfitting; 0 for none, try 1-10 with gradient descent")
    optimizers = list(OPTIMIZERS)
    optimizer = st.selectbox("Optimizer", optimizers, index=optimizers.index(DEFAULTS.optimizer), format_func=lambda name: OPTIMIZERS[name].label, key="optimizer",
                             help="how gradients turn into steps: plain gradient descent as in the original design, with momentum, or Adam")
    schedules = list(SCHEDULES)
    schedule = st.selectbox("Learning-rate schedule", schedules, index=schedules.index(DEFAULTS.schedule), format_func=SCHEDULES.get, key="schedule",
                            help="how the rate changes from one epoch to the next")
    dropout = st.slider("Dropout", 0.0, 0.5, DEFAULTS.dropout, 0.05, key="dropout",
                        help="the share of hidden neurons switched off at random at each step, against overfitting; try 0.2")
    augment = st.checkbox("Augment (train on randomly distorted digits; slower, better on drawings)", DEFAULTS.augment, key="augment",
                          help="each image is shifted, turned, slanted and thickened a little at random before each step")
    st.subheader("Data", divider="gray")
    n_images = st.select_slider("Training images to use", IMAGES, ALL, key="n_train",
                                help="how many of the training images to use, picked at random; fewer is faster")
    pen = 0
    if pendigits.pendigits_available():
        pen = PEN_DRAWINGS * st.checkbox(
            "Mix in pen-drawn digits", DEFAULTS.pen_digits > 0, key="pen_digits",
            help="add 7,494 digits written by 30 people on a tablet (each drawn %d times as on the canvas): "
                 "the network then reads your drawings better, such as a 9 with a curved tail or a 7 with a crossbar" % PEN_DRAWINGS)
    drawings_of, weight = drawings_choice()
    val_fraction = st.slider("Validation fraction", 0.0, 0.3, DEFAULTS.val_fraction, 0.05, key="val_fraction",
                             help="the share of training images kept aside to draw the validation curves (pen-drawn digits by whole writers)")
    seed = st.number_input("Seed", 0, 2**31 - 1, DEFAULTS.seed, key="seed",
                           help="the same seed and settings train the same network again; change it to see the randomness")
    config = TrainConfig(
        layer_data=base.layer_data if fixed else dense_layers(hidden, activation),
        epochs=epochs, mini_batch=None if mini_batch == FULL_BATCH else mini_batch, rate=rate,
        lamda=lamda, optimizer=optimizer, schedule=schedule, dropout=dropout, augment=augment,
        val_fraction=val_fraction, n_train=None if n_images == ALL else n_images, seed=int(seed), init=init,
        pen_digits=pen,
    )
    return Plan(config, base_name, drawings_of, weight)


def training_data():
    """The data to train on (a ``data.Digits``), or None with an explanation."""
    folder = data.data_dir()
    if data.mnist_available(folder):
        try:
            digits = mnist(str(folder))
        except data.DataError as exc:
            st.error(plain(str(exc).replace(str(folder), "the server's data folder")))
        else:
            st.caption("Data: MNIST, %d training and %d test images." % (len(digits.y_train), len(digits.y_test)))
            return digits
    else:
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
    if upload is not None:
        try:
            images, labels = data.load_kaggle_csv(upload)
        except data.DataError as exc:
            st.error(plain("%s: %s" % (upload.name, exc)))
            return None
        if labels is None:
            st.error("%s has no label column: it is a test file, not training data." % upload.name)
            return None
        try:
            held = data.hold_out(images, labels, 0.1, name=upload.name)
        except data.DataError as exc:
            st.error(plain(str(exc)))
            return None
        st.caption("Data: %s, %d labelled images; a tenth is held out as the test set." % (upload.name, len(labels)))
        return held
    return None


def start(plan, dataset):
    job = current_job()
    if job is not None and job.running:
        st.warning("A network is already training. Stop it, or wait until it finishes, before starting another.")
        return
    config = plan.config
    images, labels, groups, source = dataset.x_train, dataset.y_train, None, dataset.name
    if config.pen_digits:
        pen = pen_drawn(config.pen_digits, config.seed)
        images, labels, groups = pendigits.mix(images, labels, pen)
        source += " and %d pen-drawn digits" % len(pen[1])
    if plan.drawings_of is not None:
        try:
            kept = drawing_store().drawings(session=None if plan.drawings_of == EVERYONE else plan.drawings_of)
        except DrawingsError as exc:
            st.error(plain(str(exc)))
            return
        if not kept:
            st.warning("There are no kept drawings to train on yet: correct a few on the Draw page, or choose none.")
            return
        images, labels, groups = drawings.mix(images, labels, groups, drawings.training_set(kept, plan.weight))
        source += " and %d kept drawings (each %d times)" % (len(kept), plan.weight)
    try:
        params = get_model(plan.base).params if plan.base else None
        runs = st.session_state.setdefault("runs", [])
        label = "run %d" % (len(runs) + 1)
        job = TrainingJob(config, images, labels, dataset.x_test, dataset.y_test, label=label, source=source, groups=groups,
                          alive=page_alive(), params=params, started_from=plan.base).start()
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load %s to fine-tune: %s" % (plan.base, exc)))
        return
    except ValueError as exc:
        st.error(plain("Cannot train with these settings: %s" % exc))
        return
    runs.append(job)
    st.session_state.job = job


def line_chart(frame, series, y_title):
    """Curves against epoch, one line with points per series; long table in, Altair chart out."""
    long = frame.melt(id_vars="epoch", value_vars=series, var_name="curve", value_name=y_title).dropna()
    return (
        alt.Chart(long, height=260)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("%s:Q" % y_title, scale=alt.Scale(zero=False)),
            color=alt.Color("curve:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["epoch:Q", "curve:N", "%s:Q" % y_title],
        )
    )


def curves(job):
    """Cost and accuracy curves. A fixed key keeps each chart the same element from one refresh to
    the next, so new points are added to it instead of the chart being drawn anew."""
    frame = history_frame(job.history)
    left, right = st.columns(2)
    left.altair_chart(line_chart(frame, [COLUMNS["train_cost"], COLUMNS["val_cost"]], "cost"), key="cost_chart")
    right.altair_chart(line_chart(frame, [COLUMNS["train_acc"], COLUMNS["val_acc"]], "accuracy"), key="accuracy_chart")


def live_view():
    """Progress and curves of this user's job; re-run every second while it trains."""
    job = current_job()
    if job is None:
        st.info("Set the hyperparameters and press Start. The curves grow by one point per epoch.")
        return
    history = job.history
    # The progress bar is always drawn, so that the charts below keep their place on the page.
    ahead = job.ahead
    if ahead is not None:
        text = "%s: waiting for a free place on this server, %s" % (
            job.label, "next to start" if ahead == 0 else "%d run%s ahead of yours" % (ahead, "" if ahead == 1 else "s"))
    elif job.running:
        left = job.seconds_left
        text = "%s: epoch %d of %d, %.0f s so far%s" % (
            job.label, min(len(history) + 1, job.config.epochs), job.config.epochs, job.elapsed,
            "" if left is None else ", about %.0f s left" % left)
    else:
        text = "%s: %s, %d epoch(s) in %.0f s" % (job.label, job.status, len(history), job.elapsed)
    st.progress(job.progress, text=text)
    curves(job)
    if not job.running and st.session_state.get("shown_end") is not job:
        st.session_state.shown_end = job
        st.rerun()  # the whole page, to show the results


def results(job):
    if job.status == "failed" or job.status == "diverged":
        st.error(job.message)
    elif job.status == "stopped":
        st.warning(job.message)
    if job.result is None:
        return
    st.subheader("Results of %s" % job.label)
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

    name = st.text_input("Save as", value="my-model-%d" % len(st.session_state.get("runs", [])), key="save_name")
    model = job.model()
    a, b = st.columns(2)
    if a.button("Save model", icon=":material/save:", key="save"):
        try:
            check_name(name)
            path = save_model(name, model.params, model.layer_data, dict(model.meta, name=name), overwrite=False)
        except (ValueError, OSError) as exc:
            st.error(plain("Not saved: %s" % exc))
        else:
            st.success("Saved as %s. Pick it on the Draw page." % path.name)
    b.download_button("Download .npz", model_bytes(model.params, model.layer_data, model.meta), file_name="%s.npz" % name, key="download_model")


def comparison():
    runs = [job for job in st.session_state.get("runs", []) if job.history]
    if len(runs) < 2:
        return
    st.subheader("Compare this session's runs")
    metric = st.selectbox("Curve", list(COLUMNS.values()), index=1, key="compare_metric")
    frame = compare_frame([(job.label, job.history) for job in runs], metric)
    st.line_chart(frame, x="epoch", y=metric, color="run", height=300)
    table = pd.DataFrame(
        [dict(run=job.label, **describe(job.config, job.trainer.n_train, job.trainer.batch_size), status=job.status,
              test_accuracy=None if job.result is None else round(100 * job.result["accuracy"], 2),
              seconds=round(job.elapsed, 1)) for job in runs]
    ).set_index("run")
    st.dataframe(table)


st.title("Train a network")
with st.sidebar:
    st.header("Hyperparameters")
    plan = settings()
dataset = training_data()
job = current_job()
a, b, _ = st.columns([1, 1, 4])
busy = job is not None and job.running
if a.button("Start", type="primary", icon=":material/play_arrow:", disabled=dataset is None or busy, key="start",
            help="Train a new network with the settings in the sidebar" if not busy else "A run of yours is going: stop it first"):
    start(plan, dataset)
    job = current_job()
if b.button("Stop", icon=":material/stop:", disabled=job is None or not job.running, key="stop"):
    job.stop()
    st.toast("Stopping at the end of this mini-batch ...")
running = job is not None and job.running
st.fragment(live_view, run_every=1.0 if running else None)()
if job is not None and not job.running:
    results(job)
comparison()
