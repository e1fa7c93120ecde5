"""The training loop, shared by the command line and the Train page.

``TrainConfig`` holds every hyperparameter and checks them up front. ``Trainer.run`` trains with
mini-batch gradient descent and yields one ``EpochRecord`` per epoch, so a caller can print it,
plot it or stop listening; the trainer never prints. A ``Callback`` (Keras style) hears every
mini-batch and epoch, may hold the run between two mini-batches (a pause), hands it changes of
rate and lamda, and stops it with its ``stop_training`` flag. Training stops at once when the cost
stops being a finite number, keeping the last parameters whose cost was finite. The same seed
gives the same curves.
"""

import copy
import dataclasses
import math
import time

import numpy as np

from . import augment as augment_mod
from .health import Health
from .network import (
    DTYPE,
    INITS,
    acc,
    back_prop,
    check_layer_data,
    cost,
    dense_layers,
    flatten,
    forw_prop,
    init_params,
    n_params,
    one_hot,
    predict_proba,
)
from .optimizers import OPTIMIZERS, make_optimizer
from .words import counted

# Learning-rate schedules, name -> label (see ``Trainer.rate_at``).
# Labels short enough for a selector on a phone; what each does is said in its help (the page's).
SCHEDULES = {"constant": "constant rate", "cosine": "cosine (down to 0)"}


# The settings a running network can take from its next mini-batch on (``Trainer.change``), with
# the values each may have: name -> (test, the allowed values in words). ``TrainConfig`` checks them too.
LIVE_SETTINGS = {
    "rate": (lambda v: 0 < v <= 10, "a number in (0, 10]"),
    "lamda": (lambda v: 0 <= v <= 1e6, "a number in [0, 1e6]"),
}


def check_live(**settings):
    """``settings`` (rate, lamda) as floats, or a ``ValueError`` naming the first one that cannot
    change during a run or is out of range."""
    checked = {}
    for name, value in settings.items():
        if name not in LIVE_SETTINGS:
            raise ValueError("only %s can change during a run, not %s" % (" and ".join(LIVE_SETTINGS), name))
        ok, allowed = LIVE_SETTINGS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not ok(value):
            raise ValueError("%s must be %s, got %r" % (name, allowed, value))
        checked[name] = float(value)
    return checked


def batch_size(mini_batch: int | None, n: int) -> int:
    """The mini-batch size used on ``n`` images: ``mini_batch``, at most ``n`` (None: all of them)."""
    return n if mini_batch is None else min(mini_batch, n)


class Callback:
    """What a ``Trainer.run`` reports to and is steered by, between two mini-batches.

    ``pending``: settings (rate, lamda) to change from the next mini-batch on; the trainer takes
    them and empties it, then calls ``on_change`` with what it changed. ``stop_training``: set it
    to stop before the next mini-batch. ``before_batch`` may wait (a pause); ``rate_for`` may
    replace a mini-batch's rate (a rate finder). The methods do nothing here: a caller overrides
    those it needs."""

    def __init__(self) -> None:
        self.pending: dict = {}
        self.stop_training = False

    def before_batch(self) -> None:
        """Called before every mini-batch (it may wait there, or fill ``pending``)."""

    def on_batch(self, epoch: int, batch: int, n_batches: int, cost: float, size: int) -> None:
        """After every mini-batch: its 1-based epoch and number, its cost and its size in images."""

    def on_change(self, made: list) -> None:
        """``pending`` was applied: the changes made (see ``Trainer.change``)."""

    def on_epoch_end(self, record: "EpochRecord") -> None:
        """After every epoch, before the trainer yields its record."""

    def rate_for(self, step: int, rate: float) -> float:
        """The rate for the mini-batch numbered ``step`` (0-based, counted over the whole run),
        given the one the schedule says: a rate finder returns its own, this one keeps it."""
        return rate


def _quiet():
    """Overflow is expected when training diverges; it is detected and reported, not warned about."""
    return np.errstate(over="ignore", invalid="ignore")


@dataclasses.dataclass
class TrainConfig:
    """Every hyperparameter of a training run.

    layer_data: ``{"Dim": [...], "Activs": [...]}``.
    epochs: passes over the training set.
    mini_batch: samples per gradient step, from 1 (stochastic gradient descent) up; None, or a
        value at least the training-set size, is batch gradient descent (the whole set per step).
    rate: learning rate. lamda: L2 regularisation strength (0 for none).
    optimizer: "gd" (plain gradient descent), "momentum" or "adam".
    schedule: "constant" rate, or "cosine" decay from ``rate`` towards 0 over the epochs.
    dropout: probability of zeroing each hidden unit while training (0 for none).
    augment: train on randomly distorted copies of the digits (see ``augment.distort``).
    thicker: the strokes of half the training images, at random, are thickened by up to this many
        pixel steps or thinned by up to one (``augment.restroke``); 2 steps make strokes about a
        quarter of a digit's height, as a felt pen writes them, 3 steps 0.3 of it. 0 for none.
    val_fraction: share of the training images held out to measure validation cost/accuracy.
    n_train: how many of the training images to use (None for all), chosen at random by seed;
        images added on purpose with a group (pen-drawn digits, kept drawings) are all used.
    seed: seeds initialisation, shuffling, dropout and augmentation.
    init: "scaled" (He/LeCun, see ``network.init_params``) or the original "standard_normal".
    pen_digits: how many drawings of each pen-drawn digit (see ``pendigits``) to add to the
        training images; 0 for MNIST alone. ``pendigits.training_set`` reads it.
    pen_holdout: writers of pen-drawn digits never trained on, kept aside for measuring.
    """

    # The defaults (shared by the command line and the Train page) train a network that reaches
    # about 98.5% on the MNIST test set in well under a minute on two CPU cores.
    layer_data: dict = dataclasses.field(default_factory=lambda: dense_layers([512, 256], "relu"))
    epochs: int = 15
    mini_batch: int | None = 128
    rate: float = 1e-3
    lamda: float = 0.0
    optimizer: str = "adam"
    schedule: str = "cosine"
    dropout: float = 0.2
    augment: bool = False
    thicker: float = 0.0
    val_fraction: float = 0.1
    n_train: int | None = None
    seed: int = 0
    init: str = "scaled"
    pen_digits: int = 0
    pen_holdout: list = dataclasses.field(default_factory=list)

    def validate(self, n_available=None):
        """Raise ``ValueError`` naming the first hyperparameter outside its allowed range."""
        self.layer_data = check_layer_data(self.layer_data)

        def need(ok, name, allowed):
            if not ok:
                raise ValueError("%s must be %s, got %r" % (name, allowed, getattr(self, name)))

        def whole(value):
            return isinstance(value, int) and not isinstance(value, bool)

        def number(name):
            value = getattr(self, name)
            return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

        need(whole(self.epochs) and 1 <= self.epochs <= 100_000, "epochs", "a whole number from 1 to 100000")
        need(
            self.mini_batch is None or (whole(self.mini_batch) and self.mini_batch >= 1),
            "mini_batch",
            "None (full batch) or a whole number of at least 1",
        )
        for name, (ok, allowed) in LIVE_SETTINGS.items():
            need(number(name) and ok(getattr(self, name)), name, allowed)
        need(self.optimizer in OPTIMIZERS, "optimizer", "one of " + ", ".join(OPTIMIZERS))
        need(self.schedule in SCHEDULES, "schedule", "one of " + ", ".join(SCHEDULES))
        need(number("dropout") and 0 <= self.dropout < 1, "dropout", "a number in [0, 1)")
        need(number("thicker") and 0 <= self.thicker <= 4, "thicker", "a number of pixel steps from 0 to 4")
        need(number("val_fraction") and 0 <= self.val_fraction <= 0.5, "val_fraction", "a number in [0, 0.5]")
        need(isinstance(self.seed, int) and self.seed >= 0, "seed", "a whole number of at least 0")
        need(self.init in INITS, "init", "one of " + ", ".join(INITS))
        need(whole(self.pen_digits) and 0 <= self.pen_digits <= 20, "pen_digits", "a whole number from 0 to 20")
        need(
            isinstance(self.pen_holdout, (list, tuple)) and all(whole(w) for w in self.pen_holdout),
            "pen_holdout",
            "a list of writer numbers",
        )
        self.pen_holdout = sorted(set(self.pen_holdout))
        if self.n_train is not None:
            need(isinstance(self.n_train, int) and self.n_train >= 10, "n_train", "None or a whole number of at least 10")
            if n_available is not None:
                need(self.n_train <= n_available, "n_train", "at most the %d images available" % n_available)
        return self

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class EpochRecord:
    """What one epoch measured. Training cost and accuracy are the means over the epoch's
    mini-batches (as most libraries report them); validation figures are measured on the held-out
    images after the epoch, with the same cost formula. ``None`` when there is no validation set."""

    epoch: int
    train_cost: float
    val_cost: float | None
    train_acc: float
    val_acc: float | None
    seconds: float
    rate: float
    health: list | None = None  # per layer: gradient size, update ratio, saturated and dead shares (see ``health``)


class Trainer:
    """Trains one network on ``images`` (rows, values in [0, 1]) and integer ``labels``.

    ``groups``, if given, holds one number per image: images whose number is 0 or more are
    held out for validation a whole group at a time (all of one writer's digits, never some of
    them), the others (-1) one image at a time.

    After or during ``run``: ``params`` are the current parameters, ``history`` the records so
    far, ``changes`` the settings changed mid-run (see ``change``), ``position`` how many epochs
    are done (a fraction within an epoch), ``status`` one of "ready", "running", "finished", "stopped", "diverged", and ``message``
    says in words how the run ended. ``snapshot`` is a copy of the parameters as they were at the
    end of the last complete epoch, safe to read from another thread while training goes on.
    """

    def __init__(self, config, images, labels, params=None, groups=None):
        """``params``: weights to start from (fine-tuning a trained network), else random ones."""
        images = np.asarray(images)
        self.config = config.validate(n_available=images.shape[0] if groups is None else int((np.asarray(groups) < 0).sum()))
        ld = self.config.layer_data
        X = images.reshape(images.shape[0], -1)
        if X.shape[1] != ld["Dim"][0]:
            raise ValueError("the input layer has %d units but the images have %d pixels" % (ld["Dim"][0], X.shape[1]))
        labels = np.asarray(labels).astype(np.int64)
        if labels.min() < 0 or labels.max() >= ld["Dim"][-1]:
            raise ValueError("labels must lie in 0..%d for %d output units" % (ld["Dim"][-1] - 1, ld["Dim"][-1]))

        init_seq, split_seq, self._loop_seq = np.random.SeedSequence(self.config.seed).spawn(3)
        val, train = split(X.shape[0], self.config.n_train, self.config.val_fraction, np.random.default_rng(split_seq), groups)
        self.X_train = X[train].astype(np.float32, copy=False)
        self.y_train = labels[train]
        self.X_val = X[val].astype(np.float32, copy=False)
        self.y_val = labels[val]

        if params is None:
            self.params = init_params(ld, seed=np.random.default_rng(init_seq), init=self.config.init)
        else:  # fine-tuning: start from these weights (copied; the caller's are never changed)
            self.params = start_params(params, ld)
        self.snapshot = copy.deepcopy(self.params)
        self.history = []
        self.changes = []
        self.position = 0.0
        self.status, self.message = "ready", ""

    @property
    def n_train(self):
        """How many images it trains on (after ``n_train`` and the validation split)."""
        return self.X_train.shape[0]

    @property
    def batch_size(self):
        """The mini-batch size actually used: ``mini_batch``, at most the training-set size."""
        return batch_size(self.config.mini_batch, self.n_train)

    @property
    def step_operations(self):
        """Operations of one mini-batch's forward pass (2 per parameter per image): how big its
        products are, which decides whether they are worth splitting among threads."""
        return 2 * self.batch_size * n_params(self.config.layer_data)

    def rate_at(self, epoch):
        """Learning rate for a 0-based epoch under the configured schedule."""
        c = self.config
        if c.schedule == "cosine":
            return c.rate * 0.5 * (1 + math.cos(math.pi * epoch / c.epochs))
        return c.rate

    def change(self, **settings):
        """Change ``rate`` and/or ``lamda`` of a run, from its next mini-batch on (a schedule
        then scales the new rate). Returns the changes made, each a dict ``epoch`` (the
        ``position`` where it took effect), ``setting``, ``old``, ``new``, also kept in ``changes``."""
        made = []
        for name, value in check_live(**settings).items():
            old = getattr(self.config, name)
            if value != old:
                setattr(self.config, name, value)
                made.append({"epoch": round(self.position, 4), "setting": name, "old": old, "new": value})
        self.changes.extend(made)
        return made

    def _evaluate(self, X, y):
        """(cost, accuracy) of the current parameters on a held-out set."""
        c = self.config
        P = predict_proba(self.params, c.layer_data, X)
        Y = one_hot(y, c.layer_data["Dim"][-1])
        J = cost(P.T, Y, self.params, c.lamda, c.layer_data, m=self.n_train)
        return J, acc(P.T, y)

    def _diverged(self, last_good, what, epoch):
        self.params = last_good
        self.status = "diverged"
        self.message = "Training diverged: %s. Kept the parameters from the end of epoch %d. Try a smaller rate." % (what, epoch)

    def run(self, callback: Callback | None = None):
        """Train for ``config.epochs`` epochs, yielding an ``EpochRecord`` after each, reporting
        to and steered by ``callback`` (see ``Callback``)."""
        callback = callback if callback is not None else Callback()
        c = self.config
        ld = c.layer_data
        n = self.n_train
        mb = self.batch_size
        n_batches = math.ceil(n / mb)
        rng = np.random.default_rng(self._loop_seq)
        optimizer = make_optimizer(c.optimizer)
        n_out = ld["Dim"][-1]
        # Parameters and gradients live in two flat buffers (see network.flatten): the optimizer
        # then updates all layers with a handful of whole-vector operations per step.
        flat_params, self.params = flatten(self.params)
        flat_grads, grads = flatten({"d" + k: v for k, v in self.params.items()})
        Y_rows = one_hot(self.y_train, n_out).T.copy()  # one-hot labels as rows, gathered per batch
        last_good = self.snapshot = copy.deepcopy(self.params)
        self.status = "running"
        for epoch in range(c.epochs):
            start = time.perf_counter()
            health = Health(ld, n_batches)
            perm = rng.permutation(n)
            cost_sum, correct = 0.0, 0.0
            for b in range(n_batches):
                self.position = epoch + b / n_batches
                callback.before_batch()
                if callback.pending:
                    pending, callback.pending = callback.pending, {}
                    callback.on_change(self.change(**pending))
                if callback.stop_training:
                    self.status = "stopped"
                    self.message = (
                        "Stopped after %s." % counted(epoch, "complete epoch") if epoch else "Stopped during its first epoch."
                    )
                    return
                idx = perm[b * mb : (b + 1) * mb]
                Xb = self.X_train[idx]
                if c.augment:
                    Xb = augment_mod.distort(Xb, rng)
                if c.thicker:
                    Xb = augment_mod.restroke(Xb, rng, c.thicker)
                yb = self.y_train[idx]
                Yb = Y_rows[idx].T
                rate = self.rate_at(epoch)  # read again at every step: ``change`` may have set a new one
                rate = callback.rate_for(epoch * n_batches + b, rate)
                # Around the arithmetic only, not the whole generator, so callers keep their settings.
                with _quiet():
                    AL, caches = forw_prop(Xb.T, self.params, ld, dropout=c.dropout, rng=rng)
                    J = cost(AL, Yb, self.params, c.lamda, ld, m=n)
                if not math.isfinite(J):
                    what = "the cost became %s in epoch %d (mini-batch %d of %d)" % (J, epoch + 1, b + 1, n_batches)
                    self._diverged(last_good, what, epoch)
                    return
                with _quiet():
                    back_prop(AL, Yb, caches, self.params, ld, c.lamda, m_reg=n, out=grads)
                    before = health.look(caches, grads, self.params) if health.wanted(b) else None
                    optimizer.step({"all": flat_params}, {"dall": flat_grads}, rate)
                    if before is not None:
                        health.stepped(before, self.params)
                cost_sum += J * len(idx)
                correct += acc(AL, yb) * len(idx)
                # Let go of this step's layer outputs now: kept until the next step had made its own,
                # they were two steps' worth at once (a full batch of 18,000 on 4 x 1024: 2.6 GB, not 1.4).
                del AL, caches, Xb, Yb, before
                callback.on_batch(epoch + 1, b + 1, n_batches, J, len(idx))
            val_cost = val_acc = None
            if len(self.y_val):
                with _quiet():
                    val_cost, val_acc = self._evaluate(self.X_val, self.y_val)
            if not all(math.isfinite(p.sum()) for p in self.params.values()) or (
                val_cost is not None and not math.isfinite(val_cost)
            ):
                self._diverged(last_good, "the parameters stopped being finite in epoch %d" % (epoch + 1), epoch)
                return
            self.position = epoch + 1
            # A copy that is never updated in place: safe to read from another thread.
            last_good = self.snapshot = copy.deepcopy(self.params)
            record = EpochRecord(
                epoch=epoch + 1,
                train_cost=cost_sum / n,
                val_cost=val_cost,
                train_acc=correct / n,
                val_acc=val_acc,
                seconds=time.perf_counter() - start,
                rate=rate,
                health=health.figures(),
            )
            self.history.append(record)
            callback.on_epoch_end(record)
            yield record
        self.status = "finished"
        self.message = "Finished %s." % counted(c.epochs, "epoch")


# How fast this code trains on the project's 2-core machine, as a run on a Dask worker: the
# defaults on 20,000 images took 17 s of training for 4.6e11 operations in December 2026, about
# 3e10 a second at mini-batches of a few hundred (1e11 had been measured on a faster machine, and
# a fresh server's first estimate was then half the time it took); far fewer on small mini-batches,
# where each step's fixed costs dominate; augmentation costs per image. After three runs the
# estimate goes by this server's own (``estimate``).
FLOPS_PER_SECOND = 3.5e10
SMALL_BATCH = 32  # a mini-batch of this size runs at half the full rate
SECONDS_PER_AUGMENTED_IMAGE = 2e-5
SECONDS_PER_STEP = 2.5e-4  # measured per mini-batch beyond the arithmetic, 0.04-0.4 ms (bench/estimate.py)
IMAGE_BYTES_PER_SECOND = 1.25e9  # of float32 pixels gathered, multiplied and read back, per epoch (bench/estimate.py)


def estimated_seconds(config, n_train):
    """Roughly how long ``config`` takes to train on ``n_train`` images here (within a factor
    of two or so): forward and backward passes cost about 6 operations per parameter per image."""
    dims = config.layer_data["Dim"]
    batch = batch_size(config.mini_batch, n_train)
    rate = FLOPS_PER_SECOND * batch / (batch + SMALL_BATCH)
    seconds = 6.0 * n_params(config.layer_data) * n_train * config.epochs / rate
    # Reading the images costs too: what a small network (softmax regression) spends its time on;
    # and every step its fixed share (Python, the optimizer, the progress): what small batches spend theirs on.
    seconds += 4.0 * dims[0] * n_train * config.epochs / IMAGE_BYTES_PER_SECOND
    seconds += -(-n_train // batch) * config.epochs * SECONDS_PER_STEP
    if config.augment:
        seconds += n_train * config.epochs * SECONDS_PER_AUGMENTED_IMAGE
    if config.thicker:  # up to four steps of neighbours' maxima and minima: about twice distort's time
        seconds += n_train * config.epochs * 2 * SECONDS_PER_AUGMENTED_IMAGE
    return seconds


SLOW_SECONDS = 300  # a run expected to take longer is flagged before it starts


def slow_choices(config, n_train):
    """The settings that make a run slow, each in words with what to try instead (for a run
    expected to take over ``SLOW_SECONDS``)."""
    reasons = []
    batch = batch_size(config.mini_batch, n_train)
    if batch <= 8 and n_train >= 5000:
        reasons.append(
            "mini_batch %d makes %s weight updates per epoch, one small step each: try 32-512"
            % (batch, format(-(-n_train // batch), ","))
        )
    hidden = config.layer_data["Dim"][1:-1]
    wide = sum(width >= 512 for width in hidden)
    if wide >= 3:
        reasons.append("%d hidden layers of 512 or more neurons are a lot of arithmetic: try 1-2 layers of 128-512" % wide)
    if set(config.layer_data["Activs"][:-1]) & {"sigmoid", "tanh"} and len(hidden) >= 3:
        reasons.append("sigmoid and tanh in deep networks learn slowly (their gradients fade layer by layer): try relu")
    if config.epochs >= 50:
        reasons.append("%d epochs: most of what a network learns here comes in the first 10-20" % config.epochs)
    return reasons


# The learning rates each optimizer usually learns with on these digits (the Train page's range).
USUAL_RATES = {"gd": (0.01, 1.0), "momentum": (0.001, 0.3), "adam": (1e-4, 0.01)}


def traps(config):
    """Settings known to keep a network from learning, each in words with what to try instead:
    said before a run starts, whatever its length (a student learns more from the warning than
    from a run that ends at 10%)."""
    found = []
    hidden = config.layer_data["Activs"][:-1]
    fading = [a for a in hidden if a in ("sigmoid", "tanh")]
    if len(fading) > 2 and config.optimizer == "gd":
        found.append(
            "%d hidden layers of %s with plain gradient descent: the gradient shrinks at every layer on its way "
            "back, so the first layers hardly learn (vanishing gradients). Try relu, at most two hidden layers, "
            "or Adam" % (len(fading), fading[0])
        )
    low, high = USUAL_RATES[config.optimizer]
    if config.optimizer in ("adam", "momentum") and config.rate >= 0.1:
        found.append(
            "rate %g with %s: steps this large overshoot, and the cost jumps about or diverges. Try %g"
            % (
                config.rate,
                config.optimizer if config.optimizer != "adam" else "Adam",
                0.001 if config.optimizer == "adam" else 0.01,
            )
        )
    elif config.optimizer == "gd" and (
        config.rate > high or (config.rate >= 0.3 and config.mini_batch is not None and config.mini_batch <= 8)
    ):
        found.append(
            "rate %g with gradient descent on mini-batches of %s: steps this large usually diverge. Try 0.1"
            % (config.rate, config.mini_batch or "the whole set")
        )
    elif config.rate > 3 * high:
        found.append(
            "rate %g is far above what %s usually needs (%g to %g)" % (config.rate, OPTIMIZERS[config.optimizer].label, low, high)
        )
    if config.rate < low / 3:
        found.append(
            "rate %g is far below what %s usually needs (%g to %g): it will learn very slowly"
            % (config.rate, OPTIMIZERS[config.optimizer].label, low, high)
        )
    return found


def start_params(params, layer_data):
    """A float copy of ``params`` to train from, or a ``ValueError`` if they are not the weights
    of the network ``layer_data`` describes (fine-tuning keeps the architecture)."""
    dims = layer_data["Dim"]
    expected = {}
    for l in range(1, len(dims)):
        expected["W%d" % l], expected["b%d" % l] = (dims[l], dims[l - 1]), (dims[l], 1)
    if set(params) != set(expected) or any(np.shape(params[k]) != shape for k, shape in expected.items()):
        raise ValueError("the weights to start from are not those of a %s network" % "-".join(map(str, dims)))
    return {k: np.array(params[k], dtype=DTYPE) for k in expected}


def split(n, n_train, val_fraction, rng, groups=None):
    """Indices ``(validation, training)``, sorted, of ``n`` samples: ``n_train`` of the samples
    without a group (all if None) chosen at random, every grouped one (pen-drawn digits, kept
    drawings: added on purpose, never sampled away), then ``val_fraction`` of those held out.
    Samples with a group number of 0 or more are held out by whole groups (see ``Trainer``)."""
    order = rng.permutation(n)
    grouped = np.zeros(len(order), dtype=bool) if groups is None else np.asarray(groups)[order] >= 0
    loose = order[~grouped]
    if n_train is not None:
        loose = loose[:n_train]
    n_val = int(round(len(loose) * val_fraction))
    val, train = [loose[:n_val]], [loose[n_val:]]
    if grouped.any():
        members = order[grouped]
        names = rng.permutation(np.unique(np.asarray(groups)[members]))
        n_groups = int(round(len(names) * val_fraction))
        if val_fraction > 0 and len(names) > 1:
            n_groups = min(max(n_groups, 1), len(names) - 1)
        held = np.isin(np.asarray(groups)[members], names[:n_groups])
        val.append(members[held])
        train.append(members[~held])
    return np.sort(np.concatenate(val)), np.sort(np.concatenate(train))
