"""A training run as a small description, and the one place where it becomes arrays.

``RunSpec`` says what to train (the ``TrainConfig``), on what (a ``DataRecipe``: MNIST or an
uploaded Kaggle CSV, the pen-drawn digits, whose kept drawings and how much each counts), from
which saved model, and for whom. It holds no images, so a web server can describe a run, check it
and hand it over without building anything; ``build_training_set`` assembles the arrays where the
run trains (the command line, or the run's own process, see ``worker``).

``planned_images`` counts what a recipe would train on from the files' sizes alone, and
``memory_needed`` what the run would hold, so that a run too large is refused before any of it is
built.
"""

import concurrent.futures
import dataclasses
import functools
import hashlib
import multiprocessing
import os
import tempfile
from pathlib import Path

import numpy as np

from . import data, drawings, pendigits
from .files import atomic_write
from .network import N_PIXELS, n_params
from .training import TrainConfig, batch_size
from .words import counted

EVERYONE = "everyone"  # ``DataRecipe.drawings_of`` for every person's kept drawings
MNIST_TRAIN, MNIST_TEST = 60_000, 10_000
KAGGLE_TEST_FRACTION = 0.1  # an uploaded train.csv has no test set: its last tenth is held out
MAX_TRAINING_IMAGES = 150_000  # images x copies a run may train on (about 470 MB of float32)


@dataclasses.dataclass
class DataRecipe:
    """What a run trains on, without the data itself.

    data_dir: the folder of MNIST and the pen-drawn digits (None: the default, see ``data.data_dir``).
    kaggle_csv: a Kaggle ``train.csv`` to train on instead of MNIST (a path), and its name for people.
    drawings_db: the drawings database (None: the default); drawings_of: whose kept drawings to
        add (a person's id, ``EVERYONE`` or None), each counted ``drawings_weight`` times.
    The pen-drawn digits are the ``TrainConfig``'s (``pen_digits``, ``pen_holdout``).
    """

    data_dir: str | None = None
    kaggle_csv: str | None = None
    kaggle_name: str = "train.csv"
    drawings_db: str | None = None
    drawings_of: str | None = None
    drawings_weight: int = drawings.DRAWINGS_WEIGHT
    kaggle_rows: int | None = None  # the CSV's labelled rows, counted by whoever took the upload
    arrays: tuple | None = None  # or, from Python: (images, labels, groups, test_images, test_labels, source)


@dataclasses.dataclass
class RunSpec:
    """One run: its settings, its data, the saved model it starts from (None: random weights),
    whose it is, its name for people, and what it is for: ``"train"`` (an ordinary run) or
    ``"find-rate"`` (a rate finder, see ``ratefinder``)."""

    config: TrainConfig
    data: DataRecipe = dataclasses.field(default_factory=DataRecipe)
    started_from: str | None = None
    owner: str | None = None
    label: str = "run"
    purpose: str = "train"


def with_files_named(spec):
    """``spec`` with the drawings database it reads named: the files a run reads are named where it
    is asked for, since a worker's environment is the one it was started with (maybe another machine's)."""
    if spec.data.drawings_of is not None and spec.data.drawings_db is None:
        return dataclasses.replace(spec, data=dataclasses.replace(spec.data, drawings_db=str(drawings.database_path())))
    return spec


@dataclasses.dataclass
class TrainingSet:
    """The arrays a run trains and is tested on, and what they are in words."""

    images: np.ndarray
    labels: np.ndarray
    groups: np.ndarray | None
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str


@functools.lru_cache(maxsize=4)
def pen_count(data_dir, holdout):
    """How many pen-drawn digits there are by writers not in ``holdout`` (the file is read once)."""
    return len(pendigits.select(pendigits.load_pendigits(data_dir), exclude=holdout))


def drawing_seconds(config, data_dir=None):
    """Seconds a run of ``config`` would spend drawing its pen-drawn digits before it trains: none
    when it mixes none in, or when they are drawn already (``pendigits.is_cached``)."""
    if not config.pen_digits or pendigits.is_cached(config.pen_digits, config.seed, config.pen_holdout):
        return 0.0
    try:
        n = pen_count(data_dir, tuple(config.pen_holdout))
    except data.DataError:  # no pen-drawn digits here: the run will say so itself
        return 0.0
    return n * config.pen_digits * pendigits.SECONDS_PER_DRAWING


def kept_drawings_count(recipe):
    if recipe.drawings_of is None:
        return 0
    store = drawings.DrawingStore(recipe.drawings_db)
    return store.count(None if recipe.drawings_of == EVERYONE else recipe.drawings_of)


def planned_images(spec):
    """What the run would train on, counted without building it: a dict ``base`` (MNIST or CSV
    images used), ``base_total``, ``pen`` (pen-drawn images), ``pen_digits``, ``drawings`` (kept
    drawings), ``drawn`` (their copies), ``total`` and ``trained`` (after the validation share)."""
    c, recipe = spec.config, spec.data
    base_total = MNIST_TRAIN
    if recipe.arrays is not None:
        groups = recipe.arrays[2]
        base_total = len(recipe.arrays[1]) if groups is None else int((np.asarray(groups) < 0).sum())
    elif recipe.kaggle_csv is not None:
        base_total = int(round((recipe.kaggle_rows or 0) * (1 - KAGGLE_TEST_FRACTION)))
    base = base_total if c.n_train is None else min(c.n_train, base_total)
    pen_digits = pen_count(recipe.data_dir, tuple(c.pen_holdout)) if c.pen_digits else 0
    kept = kept_drawings_count(recipe)
    if recipe.arrays is not None:
        base += len(recipe.arrays[1]) - base_total  # grouped images are all used
    total = base + pen_digits * c.pen_digits + kept * recipe.drawings_weight
    # The test images (MNIST's, the CSV's last tenth, or those given) and the CSV's rows, for ``memory_needed``.
    tested, csv_rows = MNIST_TEST, 0
    if recipe.arrays is not None:
        tested = 0 if recipe.arrays[4] is None else len(recipe.arrays[4])
    elif recipe.kaggle_csv is not None:
        csv_rows = recipe.kaggle_rows or 0
        tested = csv_rows - base_total
    return {
        "base": base,
        "base_total": base_total,
        "pen_digits": pen_digits,
        "pen": pen_digits * c.pen_digits,
        "drawings": kept,
        "drawn": kept * recipe.drawings_weight,
        "total": total,
        "trained": max(1, round(total * (1 - c.val_fraction))),
        "tested": tested,
        "csv_rows": csv_rows,
        "from_files": recipe.arrays is None,
    }


# What a run's process holds, measured (tests/test_memory_ceilings.py runs the widest accepted
# settings in a fresh process and compares its peak, VmHWM, with ``memory_needed``):
MAX_RUN_MB = 1500  # what one run's process may hold (the runner refuses a run above it, its worker stops one)
BASELINE_BYTES = 110 * 2**20  # the interpreter, NumPy, Dask's worker, the store, BLAS's buffers (a fresh worker: 72 MB)
IMAGE_BYTES = 4 * N_PIXELS  # one image as float32
MNIST_RAW_BYTES = 55 * 2**20  # MNIST's files decompressed, held while they become float32
CSV_CHUNK_BYTES = 80 * 2**20  # pandas' text cells for one chunk of ``data.CSV_CHUNK_ROWS`` rows, and their numbers
# pandas, imported to read a CSV (69 MB measured), and what its arenas keep after parsing: a run on
# a 98 MB CSV peaked 4 MB above an estimate without this margin, once in three runs
CSV_LIBRARY_BYTES = 100 * 2**20
AUGMENT_BYTES = 72_000  # distorting one image: its sampling grids and displacement fields (float64)
# Per layer of a mini-batch, in float32 values per neuron and image, beyond what every layer keeps
# (Z and its activation; with dropout also the mask and the dropped-out output): what computing a
# layer's gradient holds at once (the gradient reaching it and leaving it, the activation's slope).
BACKWARD = {"relu": 2.5, "leaky_relu": 3.5, "tanh": 4.5, "sigmoid": 4.5}


def memory_needed(config, n_images, planned=None):
    """The bytes a run of ``config`` on ``n_images`` images holds at its peak, counted array by
    array: the larger of building its data and training on it, plus the process's baseline.

    Building: the base images decoded as float32 beside what they were read from (MNIST's files, or
    a CSV's chunks and its bytes), the added pen-drawn digits and kept drawings with their mixed
    copy, and the trainer's own training and validation copies. Training: those copies and the test
    set; the parameters four times over (themselves, their gradients, the last epoch's copy, and
    the weights before a measured step or the copy reported to the store) plus the optimizer's
    state (Adam two copies, momentum one); and one mini-batch: its images (and their
    augmentation), every layer's outputs kept for back propagation (with dropout, their masks and
    dropped-out outputs too) and what the backward pass holds for the widest layer. ``planned``
    (``planned_images``) says what the data is made of; without it, MNIST and nothing added."""
    dims, activs = config.layer_data["Dim"], config.layer_data["Activs"]
    planned = planned or {}
    base, tested = planned.get("base_total", MNIST_TRAIN), planned.get("tested", MNIST_TEST)
    extra = planned.get("pen", 0) + planned.get("drawn", 0)
    csv_rows = planned.get("csv_rows", 0)
    raw = copied = library = 0  # arrays given from Python arrive whole
    if planned.get("from_files", True):
        raw = MNIST_RAW_BYTES
        if csv_rows:  # its chunks as bytes, joined; its test tenth copied out (``data.hold_out``)
            raw, copied, library = csv_rows * 2 * N_PIXELS + CSV_CHUNK_BYTES, tested, CSV_LIBRARY_BYTES
    # Decoded beside what they were read from; then mixed with what is added (the base kept beside
    # its mixed copy), and copied by the trainer into its training and validation sets.
    mixed = base + extra if extra else 0
    building = IMAGE_BYTES * (base + tested) + max(raw, IMAGE_BYTES * (copied + extra + mixed + n_images))

    trained = max(1, round(n_images * (1 - config.val_fraction)))
    batch = batch_size(config.mini_batch, trained)
    parameters = n_params(config.layer_data)
    state = {"adam": 2, "momentum": 1}.get(config.optimizer, 0)
    kept = 2 * sum(dims[1:]) + (2 * sum(dims[1:-1]) if config.dropout > 0 else 0)
    backward = max((BACKWARD.get(a, 4.5) * d for a, d in zip(activs[:-1], dims[1:-1])), default=0.0) + dims[-1]
    step = 4 * batch * (N_PIXELS + 3 * dims[-1] + kept + backward)
    if config.augment:
        step = max(step, batch * (AUGMENT_BYTES + IMAGE_BYTES))
    training = IMAGE_BYTES * (n_images + tested) + 4 * parameters * (4 + state) + step
    return int(BASELINE_BYTES + library + max(building, training))


def check_size(spec, planned):
    """``ValueError`` in words when a run would train on more images than ``MAX_TRAINING_IMAGES``,
    or hold more memory than ``MAX_RUN_MB`` (``memory_needed``, with everything its data is made of)."""
    if planned["total"] > MAX_TRAINING_IMAGES:
        raise ValueError(
            "this run would train on %s images (%s), more than the %s a run may use here. Lower the drawings' weight, "
            "use fewer MNIST images or leave out the pen-drawn digits."
            % (format(planned["total"], ","), describe_counts(spec, planned), format(MAX_TRAINING_IMAGES, ","))
        )
    need = memory_needed(spec.config, planned["total"], planned)
    if need > MAX_RUN_MB * 2**20:
        raise ValueError(
            "this run would need about %.1f GB of memory, more than the %.1f GB a run may use here. "
            "Smaller layers, a smaller mini_batch or fewer training images need less." % (need / 2**30, MAX_RUN_MB / 1024)
        )


def describe_counts(spec, planned):
    parts = ["%s %s" % (format(planned["base"], ","), "MNIST" if spec.data.kaggle_csv is None else spec.data.kaggle_name)]
    if planned["pen"]:
        parts.append("%s pen-drawn" % format(planned["pen"], ","))
    if planned["drawn"]:
        parts.append("%s from %s" % (format(planned["drawn"], ","), counted(planned["drawings"], "kept drawing")))
    return " + ".join(parts)


def base_data(recipe):
    """MNIST, or the uploaded CSV with its last tenth held out as the test set (a ``data.Digits``)."""
    if recipe.kaggle_csv is None:
        return data.load_mnist(recipe.data_dir)
    images, labels = data.load_kaggle_csv(recipe.kaggle_csv)
    if labels is None:
        raise data.DataError("%s has no label column: it is a test file, not training data" % recipe.kaggle_name)
    return data.hold_out(images, labels, KAGGLE_TEST_FRACTION, name=recipe.kaggle_name)


def build_training_set(spec, pen_images=None):
    """The arrays of ``spec``'s recipe, as a ``TrainingSet``. ``pen_images``, if given, is a
    function ``(drawings, seed, holdout) -> pendigits triple`` that may come from a cache; by
    default the pen-drawn digits are drawn here (a few seconds for four drawings of each; read back from the
    cache after that)."""
    c, recipe = spec.config, spec.data
    if recipe.arrays is not None:
        return TrainingSet(*recipe.arrays)
    digits = base_data(recipe)
    images, labels, groups, source = digits.x_train, digits.y_train, None, digits.name
    if c.pen_digits:
        if pen_images is None:
            pen = pendigits.for_training(pendigits.load_pendigits(recipe.data_dir), c.pen_digits, c.seed, c.pen_holdout)
        else:
            pen = pen_images(c.pen_digits, c.seed, tuple(c.pen_holdout))
        images, labels, groups = data.mix(images, labels, None, pen)
        source += " and %d pen-drawn digits" % len(pen[1])
    if recipe.drawings_of is not None:
        store = drawings.DrawingStore(recipe.drawings_db)
        kept = store.drawings(owner=None if recipe.drawings_of == EVERYONE else recipe.drawings_of)
        if not kept:
            raise ValueError("there are no kept drawings to train on: correct a few drawings first")
        images, labels, groups = data.mix(images, labels, groups, drawings.training_set(kept, recipe.drawings_weight))
        source += " and %s (each %d times)" % (counted(len(kept), "kept drawing"), recipe.drawings_weight)
    return TrainingSet(images, labels, groups, digits.x_test, digits.y_test, source)


def uploads_dir():
    """Where uploaded training CSVs are kept for the runs that read them (``NN_CORE_UPLOADS_DIR``,
    else a folder in the system's temporary folder)."""
    return Path(os.environ.get("NN_CORE_UPLOADS_DIR") or Path(tempfile.gettempdir()) / "nn_core-uploads")


def labelled_rows(path):
    """How many labelled digits a training CSV holds, or the ``DataError`` that says what is wrong.
    Run in a process of its own (``take_upload``), held to ``MAX_RUN_MB`` like a run."""
    from .worker import limit_memory

    limit_memory(MAX_RUN_MB)
    try:
        images, labels = data.load_kaggle_csv(path)
    except MemoryError:
        raise data.DataError(
            "checking it needed more memory than one file may use here (%.1f GB)" % (MAX_RUN_MB / 1024)
        ) from None
    if labels is None:
        raise data.DataError("it has no label column: it is a test file, not training data")
    if len(labels) < data.MIN_LABELLED:
        raise data.DataError(
            "it has %d labelled digits; training and testing need at least %d" % (len(labels), data.MIN_LABELLED)
        )
    return len(labels)


def take_upload(raw):
    """Keep an uploaded training CSV (its bytes) where runs can read it, and check it in a process
    of its own (pandas takes about 13 times a CSV's size to parse it: a 100 MB file would put a
    gigabyte and more into the web server). Returns ``(path, labelled rows)``; raises the
    ``DataError`` that says what is wrong with it."""
    path = uploads_dir() / ("%s.csv" % hashlib.sha256(raw).hexdigest()[:32])
    try:
        if not path.exists():
            atomic_write(path, lambda f: f.write(raw))
        from .worker import keep_main_out_of_children

        keep_main_out_of_children()
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return str(path), pool.submit(labelled_rows, str(path)).result()
    except (OSError, concurrent.futures.process.BrokenProcessPool) as exc:
        raise data.DataError("it could not be checked here (%s)" % exc) from exc
