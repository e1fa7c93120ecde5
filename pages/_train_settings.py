"""The Train page's settings (not a page): every hyperparameter's widget, its default, and its
place in the address's query string, so that a reload keeps the settings and a link shares them.
While a run trains only the rate and lamda can move: they change that run."""

import dataclasses
import math

import streamlit as st

from nn_core import data, drawings, pendigits, runspec
from nn_core.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from nn_core.download import download_pendigits
from nn_core.drawings import DRAWINGS_WEIGHT, DrawingsError
from nn_core.network import INITS, dense_layers, describe_layers
from nn_core.optimizers import OPTIMIZERS
from nn_core.runs import RunsError
from nn_core.storage import ModelFileError
from nn_core.training import SCHEDULES, TrainConfig
from nn_core.words import counted
from pages._models import get_model, saved_names
from pages._people import current_job, drawing_store, forget_runs, visitor
from pages._widgets import first_sight, plain

WIDTHS = [16, 32, 64, 128, 256, 512, 1024]
FULL_BATCH = "full batch"
MINI_BATCHES = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, FULL_BATCH]
RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0]
LAMDAS = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
DROPOUTS = [round(0.05 * i, 2) for i in range(11)]
VAL_FRACTIONS = [round(0.05 * i, 2) for i in range(7)]
ALL = "all"
IMAGES = [1000, 2000, 5000, 10000, 20000, 30000, ALL]
PEN_DRAWINGS = pendigits.PAGE_DRAWINGS  # drawings of each pen-drawn digit when they are mixed in
TRAINER = TrainConfig()
HIDDEN = TRAINER.layer_data["Dim"][1:-1]
NEW = "new random weights"
FINE_TUNE = {"epochs": 3, "rate": 1e-4, "n_train": 10000}  # a few epochs at a small rate keep what the model knew
NO_DRAWINGS, MINE, EVERYONE = "none", "mine", "everyone's"

# Every setting, by widget key, with its default: the one place the widgets, the address and
# the "which settings differ" note take them from.
DEFAULT = {
    "start_from": NEW,
    "n_hidden": len(HIDDEN),
    **{"neurons_%d" % (i + 1): HIDDEN[i] if i < len(HIDDEN) else 128 for i in range(4)},
    "activation": TRAINER.layer_data["Activs"][0],
    "init": TRAINER.init,
    "epochs": TRAINER.epochs,
    "mini_batch": TRAINER.mini_batch,
    "rate": TRAINER.rate,
    "lamda": TRAINER.lamda,
    "optimizer": TRAINER.optimizer,
    "schedule": TRAINER.schedule,
    "dropout": TRAINER.dropout,
    "augment": TRAINER.augment,
    "n_train": ALL,
    "pen_digits": TRAINER.pen_digits > 0,
    "drawings_of": NO_DRAWINGS,
    "drawings_weight": DRAWINGS_WEIGHT,
    "val_fraction": TRAINER.val_fraction,
    "seed": TRAINER.seed,
}


def allowed():
    """What each setting may be, for settings read from the address."""
    return {
        "start_from": [NEW] + saved_names(),
        "n_hidden": list(range(5)),
        **{"neurons_%d" % i: WIDTHS for i in range(1, 5)},
        "activation": HIDDEN_ACTIVATIONS,
        "init": list(INITS),
        "epochs": list(range(1, 101)),
        "mini_batch": MINI_BATCHES,
        "rate": RATES,
        "lamda": LAMDAS,
        "optimizer": list(OPTIMIZERS),
        "schedule": list(SCHEDULES),
        "dropout": DROPOUTS,
        "augment": [False, True],
        "n_train": IMAGES,
        "pen_digits": [False, True],
        "drawings_of": [NO_DRAWINGS, MINE, EVERYONE],
        "drawings_weight": list(range(1, 101)),
        "val_fraction": VAL_FRACTIONS,
        "seed": range(2**31),
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


def to_address(extra=None):
    """Write the settings that differ from the defaults into the address (the layers in use only),
    and ``extra`` (more of the page's choices, already as text)."""
    unused = {"neurons_%d" % i for i in range(st.session_state.get("n_hidden", 0) + 1, 5)}
    wanted = dict(extra or {}) | {
        k: as_text(st.session_state[k])
        for k in DEFAULT
        if k in st.session_state and k not in unused and st.session_state[k] != DEFAULT[k]
    }
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
    """When a saved model is picked to start from: the usual settings for fine-tuning, the ones
    they replace kept aside; back to random weights, those come back."""
    if st.session_state.get("start_from", NEW) != NEW:
        before = {k: st.session_state.get(k, DEFAULT[k]) for k in FINE_TUNE}
        st.session_state.update(FINE_TUNE)
        # Fine-tuning is mostly for the drawings the person corrected: theirs are added, if any.
        if st.session_state.get("drawings_of", NO_DRAWINGS) == NO_DRAWINGS and kept_drawings() > 0:
            before["drawings_of"] = NO_DRAWINGS
            st.session_state.drawings_of = MINE
        st.session_state.setdefault("before_fine_tune", before)
        st.session_state.preset_note = True
    elif "before_fine_tune" in st.session_state:
        st.session_state.update(st.session_state.pop("before_fine_tune"))
        st.session_state.restored_note = True


def kept_drawings() -> int:
    """How many drawings the person has kept (0 when they cannot be read: the picker says why)."""
    try:
        return drawing_store().count(visitor())
    except DrawingsError:
        return 0


def start_from(locked):
    """The "Start from" picker; returns the model to fine-tune (a ``Model``) and its name, or (None, None)."""
    name = st.selectbox(
        "Start from",
        [NEW] + saved_names(),
        key="start_from",
        on_change=fine_tune_preset,
        disabled=locked,
        help="new random weights, or the weights of a saved model to fine-tune it (for example on your "
        "drawings): its layers are kept, and a few epochs at a small rate are enough",
    )
    if name == NEW:
        if st.session_state.pop("restored_note", False):
            st.info("Back to new random weights: epochs, rate and training images are as they were before fine-tuning.")
        return None, None
    try:
        model = get_model(name)
    except (ModelFileError, OSError) as exc:
        st.error(plain("Could not load %s: %s" % (name, exc)))
        return None, None
    st.caption("Fine-tuning %s: %s. Its layers are kept." % (plain(name), describe_layers(model.layer_data)))
    if st.session_state.pop("preset_note", False):
        yours = st.session_state.get("drawings_of") == MINE
        st.info(
            "Set for fine-tuning: %(epochs)d epochs, rate %(rate)g, %(n_train)d MNIST images" % FINE_TUNE
            + (" and your %s (under Data)" % counted(kept_drawings(), "kept drawing") if yours else "")
            + ". Change them if you like."
        )
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
    choice = st.selectbox(
        "Drawings collected here",
        list(options),
        key="drawings_of",
        disabled=locked,
        format_func=lambda k: k if k == NO_DRAWINGS else "%s (%d)" % (k, counts[k]),
        help="add the drawings corrected on the Draw page (see My drawings) to the training images",
    )
    weight = st.slider(
        "Weight of each drawing",
        1,
        100,
        DEFAULT["drawings_weight"],
        key="drawings_weight",
        disabled=locked or options[choice] is None,
        help="each drawing counts as this many training images, so that a few are not drowned among "
        "60,000; too high and the network learns them by heart. Try 10-50",
    )
    return options[choice], weight


def live_change(key):
    """A rate or lamda moved while a run trains: the run takes it from its next mini-batch. One
    note says so (the sidebar already shows the new value)."""
    job = current_job()
    if job is not None and job.running:
        old = getattr(job.config, key)
        try:
            applied = job.change(**{key: st.session_state[key]})
        except (ValueError, RunsError) as exc:
            st.session_state.live_note = plain("Not changed: %s" % exc)
        else:
            st.session_state.live_note = (
                "%s of %s: %g → %g from its next mini-batch (marked on the curves)."
                % (key, plain(job.label), old, st.session_state[key])
                if applied
                else "%s has ended: the new %s is for the next run." % (plain(job.label), key)
            )
        forget_runs()


def settings_of(config, started_from=None):
    """The sidebar's widget values that describe ``config`` (a run's), by widget key; a value no
    widget can show (a rate set from Python) is left out."""
    hidden = config.layer_data["Dim"][1:-1]
    values = {
        "start_from": started_from or NEW,
        "activation": config.layer_data["Activs"][0],
        "init": config.init,
        "epochs": config.epochs,
        "mini_batch": FULL_BATCH if config.mini_batch is None else config.mini_batch,
        "rate": config.rate,
        "lamda": config.lamda,
        "optimizer": config.optimizer,
        "schedule": config.schedule,
        "dropout": config.dropout,
        "augment": config.augment,
        "n_train": ALL if config.n_train is None else config.n_train,
        "pen_digits": config.pen_digits > 0,
        "val_fraction": config.val_fraction,
        "seed": config.seed,
    }
    if started_from is None:
        values["n_hidden"] = len(hidden)
        values.update({"neurons_%d" % (i + 1): width for i, width in enumerate(hidden)})
    choices = allowed()
    return {k: v for k, v in values.items() if k in choices and v in choices[k]}


def settings_near(run):
    """The sidebar's widget values nearest a run's settings (``run``: a row of the class's runs,
    ``rate``, ``lamda``, ``layers``, ``width``, ``mini_batch`` ...), and a note for each value no
    widget offers, replaced by the nearest one that does (a rate of 0.004 by 0.003)."""
    values, notes = {"start_from": NEW}, []

    def near(key, value, options, name):
        if value in options:
            values[key] = value
            return
        stand_in = {ALL: 60_000, FULL_BATCH: 60_000}  # (the whole set, for "nearest")
        numbers = [(o, stand_in.get(o, o)) for o in options if isinstance(stand_in.get(o, o), (int, float))]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not numbers:
            return
        positive = value > 0 and all(n > 0 for _, n in numbers)
        values[key] = min(numbers, key=lambda o: abs(math.log(o[1] / value)) if positive else abs(o[1] - value))[0]
        notes.append("%s %g is not on its slider, so the nearest, %s, is set." % (name, value, as_text(values[key])))

    near("rate", run.get("rate"), RATES, "rate")
    near("lamda", run.get("lamda"), LAMDAS, "lamda")
    near("dropout", run.get("dropout"), DROPOUTS, "dropout")
    near("epochs", run.get("epochs"), list(range(1, 101)), "epochs")
    near("mini_batch", FULL_BATCH if run.get("full_batch") else run.get("mini_batch"), MINI_BATCHES, "mini_batch")
    near("n_train", ALL if run.get("n_train") is None else run["n_train"], IMAGES, "training images")
    layers = run.get("layers")
    if isinstance(layers, int) and 0 <= layers <= 4:
        values["n_hidden"] = layers
        for i in range(1, layers + 1):
            near("neurons_%d" % i, run.get("width"), WIDTHS, "width")
    for key in ("activation", "optimizer", "schedule"):
        if run.get(key) in allowed()[key]:
            values[key] = run[key]
    return values, list(dict.fromkeys(notes))


def follow(job):
    """Show the person's run that trains or waits in the sidebar, as it was started."""
    if job is not None and job.running and first_sight("run", job.id):
        st.session_state.pop("before_fine_tune", None)
        st.session_state.update(settings_of(job.config, job.started_from))


def pen_download(locked):
    """Where "Mix in pen-drawn digits" goes once they are here: their download (about 1 MB), then
    drawn for training at once, so that a first run with them starts as quickly as any."""
    pressed = st.button(
        "Get the pen-drawn digits (1 MB)",
        icon=":material/download:",
        key="download_pen",
        disabled=locked,
        help="7,494 digits written by 30 people on a tablet (the UCI Machine Learning Repository's pendigits). "
        "Once they are here, you can mix them into training: the network then reads your drawings better",
    )
    if not pressed:
        return
    folder = data.data_dir()
    with st.spinner("Downloading the pen-drawn digits and drawing them for training (a few seconds) ..."):
        try:
            download_pendigits(folder, log=lambda line: None)
            pendigits.draw_ahead(folder, TrainConfig().seed)
        except data.DataError as exc:
            st.error(plain(str(exc).replace(str(folder), "the server's data folder")))
            return
    st.rerun()


def follow_sweep(sweep):
    """Show the person's sweep under way in the sidebar: the settings its runs share (its base)."""
    if sweep is not None and first_sight("sweep", sweep.id):
        st.session_state.pop("before_fine_tune", None)
        st.session_state.update(settings_of(sweep.plan.base))


def layer_settings(locked):
    """The layer widgets of a network trained from random weights: ``(hidden sizes, activation, init)``."""
    n_hidden = st.slider(
        "Hidden layers",
        0,
        4,
        DEFAULT["n_hidden"],
        key="n_hidden",
        disabled=locked,
        help="layers of neurons between the 784 pixels and the 10 answers; 0 is plain softmax regression, try 1-2",
    )
    hidden = [
        st.select_slider(
            "Neurons in layer %d" % (i + 1),
            WIDTHS,
            DEFAULT["neurons_%d" % (i + 1)],
            key="neurons_%d" % (i + 1),
            disabled=locked,
            help="more neurons can learn more detail, and train more slowly; try 64-512",
        )
        for i in range(n_hidden)
    ]
    activation = st.selectbox(
        "Activation of the hidden layers",
        HIDDEN_ACTIVATIONS,
        index=HIDDEN_ACTIVATIONS.index(DEFAULT["activation"]),
        format_func=lambda name: ACTIVATIONS[name].label.split(":")[0],  # (short enough for the sidebar; the rest in help)
        key="activation",
        disabled=locked,
        help="what each hidden neuron does with its weighted sum: "
        + "; ".join(ACTIVATIONS[name].label for name in HIDDEN_ACTIVATIONS)
        + ". ReLU trains fastest, sigmoid is the classic one",
    )
    inits = list(INITS)
    init = st.selectbox(
        "Weight initialisation",
        inits,
        index=inits.index(DEFAULT["init"]),
        key="init",
        format_func=lambda name: INITS[name].split(" (")[0],  # (the rest in help)
        disabled=locked,
        help="the random weights training starts from: "
        + "; ".join(INITS.values())
        + ". Try the original to see a network start saturated",
    )
    return hidden, activation, init


def settings(locked, beside_rate=None, sweeping=False):
    """The hyperparameter widgets; returns the ``Plan`` that Start would train (not yet
    validated). While a run trains (``locked``) only the rate and lamda can move: they change it.
    ``beside_rate(locked)``, if given, draws what goes under the rate slider (the rate finder's button).
    While the person's sweep runs (``sweeping``, with ``locked``) they show its settings, every one greyed."""
    st.subheader("Network", divider="gray")
    base, base_name = start_from(locked)
    if base is not None:  # its layers are the model's: shown as they are, not as sliders that cannot say 800
        st.markdown(
            "**Layers of %s**: %s, %s"
            % (
                plain(base_name),
                "-".join(map(str, base.layer_data["Dim"])),
                ACTIVATIONS[base.layer_data["Activs"][0]].label.split(":")[0],
            )
        )
        hidden, activation, init = [], DEFAULT["activation"], st.session_state.get("init", DEFAULT["init"])
    else:
        hidden, activation, init = layer_settings(locked)
    st.subheader("Training", divider="gray")
    if sweeping:
        st.caption(
            "Your sweep is under way: these are the settings its runs share (what it varies is on the Sweep tab). "
            "They can change once it has ended."
        )
    elif locked:
        st.caption(
            "While your run trains, only the rate and lamda can change: they take effect from its next mini-batch. "
            "Pause or stop it to change the rest for the next run."
        )
    epochs = st.slider(
        "epochs",
        1,
        100,
        DEFAULT["epochs"],
        key="epochs",
        disabled=locked,
        help="passes over all the training images; each adds one point to the curves. Try 5-30",
    )
    mini_batch = st.select_slider(
        "mini_batch (images per step; 1 is stochastic, full batch is batch gradient descent)",
        MINI_BATCHES,
        DEFAULT["mini_batch"],
        key="mini_batch",
        disabled=locked,
        help="images per weight update. 1 is stochastic gradient descent: noisy and slow; try 32-512",
    )
    rate = st.select_slider(
        "rate (learning rate, log scale)",
        RATES,
        DEFAULT["rate"],
        format_func=lambda r: "%g" % r,
        key="rate",
        disabled=sweeping,
        on_change=live_change,
        args=("rate",),
        help="the size of each step downhill: too small crawls, too large diverges. Adam: try 0.001; "
        "gradient descent: 0.1-0.5. It can change while a run trains",
    )
    if beside_rate is not None:
        beside_rate(locked)
    lamda = st.select_slider(
        "lamda (L2 regularisation)",
        LAMDAS,
        DEFAULT["lamda"],
        key="lamda",
        disabled=sweeping,
        on_change=live_change,
        args=("lamda",),
        help="a penalty on large weights, against overfitting; 0 for none, try 1-10 with gradient descent. "
        "It can change while a run trains",
    )
    optimizers = list(OPTIMIZERS)
    optimizer = st.selectbox(
        "Optimizer",
        optimizers,
        index=optimizers.index(DEFAULT["optimizer"]),
        format_func=lambda name: OPTIMIZERS[name].label,
        key="optimizer",
        disabled=locked,
        help="how gradients turn into steps: plain gradient descent as in the original design, with momentum, or Adam",
    )
    schedules = list(SCHEDULES)
    schedule = st.selectbox(
        "Learning-rate schedule",
        schedules,
        index=schedules.index(DEFAULT["schedule"]),
        format_func=SCHEDULES.get,
        key="schedule",
        disabled=locked,
        help="how the rate changes from one epoch to the next: constant keeps it as set; cosine lowers it "
        "smoothly, fast in the middle of the run and slowly at its ends, to 0 by the last epoch",
    )
    dropout = st.slider(
        "Dropout",
        0.0,
        0.5,
        DEFAULT["dropout"],
        0.05,
        key="dropout",
        disabled=locked,
        help="the share of hidden neurons switched off at random at each step, against overfitting; try 0.2",
    )
    augment = st.checkbox(
        "Augment (train on randomly distorted digits; slower, better on drawings)",
        DEFAULT["augment"],
        key="augment",
        disabled=locked,
        help="each image is shifted, turned, slanted and thickened a little at random before each step",
    )
    st.subheader("Data", divider="gray")
    n_images = st.select_slider(
        "Training images to use",
        IMAGES,
        DEFAULT["n_train"],
        key="n_train",
        disabled=locked,
        help="how many of the MNIST training images to use, picked at random; fewer is faster",
    )
    pen = 0
    if pendigits.pendigits_available():
        pen = PEN_DRAWINGS * st.checkbox(
            "Mix in pen-drawn digits",
            DEFAULT["pen_digits"],
            key="pen_digits",
            disabled=locked,
            help="add 7,494 digits written by 30 people on a tablet (each drawn %d times as on the canvas): "
            "the network then reads your drawings better, such as a 9 with a curved tail or a 7 with a crossbar" % PEN_DRAWINGS,
        )
    else:
        pen_download(locked)
    drawings_of, weight = drawings_choice(locked)
    val_fraction = st.slider(
        "Validation fraction",
        0.0,
        0.3,
        DEFAULT["val_fraction"],
        0.05,
        key="val_fraction",
        disabled=locked,
        help="the share of training images kept aside to draw the validation curves (pen-drawn digits by whole writers)",
    )
    seed = st.number_input(
        "Seed",
        0,
        2**31 - 1,
        DEFAULT["seed"],
        key="seed",
        disabled=locked,
        help="the same seed and settings train the same network again; change it to see the randomness",
    )
    config = TrainConfig(
        layer_data=base.layer_data if base is not None else dense_layers(hidden, activation),
        epochs=epochs,
        mini_batch=None if mini_batch == FULL_BATCH else mini_batch,
        rate=rate,
        lamda=lamda,
        optimizer=optimizer,
        schedule=schedule,
        dropout=dropout,
        augment=augment,
        val_fraction=val_fraction,
        n_train=None if n_images == ALL else n_images,
        seed=int(seed),
        init=init,
        pen_digits=pen,
    )
    return Plan(config, base_name, drawings_of, weight)
