"""The training loop: it learns, it is reproducible, it stops when asked or when it diverges,
and it refuses absurd hyperparameters with a message naming them."""

import math

import numpy as np
import pytest

from conftest import blobs
from nn_core.network import predict_proba
from nn_core.optimizers import OPTIMIZERS
from nn_core.training import Callback, TrainConfig, Trainer

SMALL = {"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}


def small_config(**overrides):
    settings = dict(layer_data=SMALL, epochs=30, mini_batch=16, rate=0.05, optimizer="gd", val_fraction=0.2, seed=1)
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.mark.parametrize("optimizer,rate", [("gd", 0.1), ("momentum", 0.05), ("adam", 0.01)])
def test_tiny_network_learns_separable_problem(optimizer, rate):
    X, y = blobs()
    trainer = Trainer(small_config(optimizer=optimizer, rate=rate), X, y)
    records = list(trainer.run())
    assert trainer.status == "finished"
    assert len(records) == 30
    assert records[-1].train_cost < 0.5 * records[0].train_cost
    assert records[-1].val_acc >= 0.97
    X_test, y_test = blobs(200, seed=5)
    assert np.mean(predict_proba(trainer.params, SMALL, X_test).argmax(1) == y_test) >= 0.97


@pytest.mark.parametrize("mini_batch", [1, 10_000])
def test_stochastic_and_full_batch_gradient_descent(mini_batch):
    X, y = blobs(200)
    trainer = Trainer(small_config(mini_batch=mini_batch, epochs=40, rate=0.5 if mini_batch > 1 else 0.02), X, y)
    records = list(trainer.run())
    assert records[-1].train_acc >= 0.95
    assert records[-1].train_cost < records[0].train_cost


def test_same_seed_same_curves_and_other_seed_differs():
    X, y = blobs()
    config = dict(dropout=0.2, epochs=5)
    a = [vars(r) for r in Trainer(small_config(**config), X, y).run()]
    b = [vars(r) for r in Trainer(small_config(**config), X, y).run()]
    c = [vars(r) for r in Trainer(small_config(seed=2, **config), X, y).run()]
    for rec in a + b + c:
        rec.pop("seconds")
    assert a == b
    assert a != c


def test_records_hold_every_field():
    X, y = blobs()
    record = next(Trainer(small_config(schedule="cosine"), X, y).run())
    assert record.epoch == 1 and record.rate == pytest.approx(0.05)
    for value in (record.train_cost, record.val_cost, record.train_acc, record.val_acc, record.seconds):
        assert math.isfinite(value)


def test_cosine_schedule_decays_the_rate():
    X, y = blobs()
    rates = [r.rate for r in Trainer(small_config(schedule="cosine", epochs=4), X, y).run()]
    assert rates[0] == pytest.approx(0.05) and rates == sorted(rates, reverse=True) and rates[-1] < 0.02


def test_no_validation_set_gives_none():
    X, y = blobs()
    record = next(Trainer(small_config(val_fraction=0), X, y).run())
    assert record.val_cost is None and record.val_acc is None


def test_stop_between_mini_batches():
    X, y = blobs()
    seen, ends, sizes = [], [], []

    class Stopper(Callback):
        def on_batch(self, epoch, batch, n_batches, cost, size):
            seen.append((epoch, batch))
            sizes.append(size)
            if epoch == 2 and batch == 3:
                self.stop_training = True

        def on_epoch_end(self, record):
            ends.append(record.epoch)

    trainer = Trainer(small_config(), X, y)
    records = list(trainer.run(Stopper()))
    assert len(records) == 1 and ends == [1]
    assert seen[-1] == (2, 3)
    n_batches = seen.index((2, 1))  # the mini-batches of epoch 1
    assert sum(sizes[:n_batches]) == trainer.n_train  # each mini-batch reported with its own size
    assert trainer.status == "stopped"
    assert all(np.all(np.isfinite(p)) for p in trainer.params.values())


def test_divergence_stops_at_once_and_keeps_finite_parameters():
    X, y = blobs()
    X = X * 1e3  # huge inputs with a large rate blow the cost up
    trainer = Trainer(small_config(rate=10.0, optimizer="gd", epochs=50), X, y)
    records = list(trainer.run())
    assert trainer.status == "diverged"
    assert "diverged" in trainer.message and "smaller rate" in trainer.message
    assert len(records) < 50
    assert all(np.all(np.isfinite(p)) for p in trainer.params.values())
    for r in records:
        assert math.isfinite(r.train_cost)


@pytest.mark.parametrize(
    "field,value",
    [
        ("epochs", 0),
        ("mini_batch", 0),
        ("rate", -1.0),
        ("rate", float("nan")),
        ("lamda", -0.1),
        ("optimizer", "sgd2"),
        ("dropout", 1.0),
        ("val_fraction", 0.9),
        ("schedule", "linear"),
        ("n_train", 5),
    ],
)
def test_absurd_hyperparameters_are_refused_by_name(field, value):
    X, y = blobs()
    with pytest.raises(ValueError, match=field):
        Trainer(small_config(**{field: value}), X, y)


def test_bad_layer_data_is_refused():
    X, y = blobs()
    with pytest.raises(ValueError, match="Activs"):
        Trainer(small_config(layer_data={"Dim": [4, 8, 3], "Activs": ["relu"]}), X, y)
    with pytest.raises(ValueError, match="input layer"):
        Trainer(small_config(layer_data={"Dim": [5, 3], "Activs": ["softmax"]}), X, y)
    with pytest.raises(ValueError, match="output activation"):
        Trainer(small_config(layer_data={"Dim": [4, 3], "Activs": ["relu"]}), X, y)


def test_n_train_uses_a_subset():
    X, y = blobs(300)
    trainer = Trainer(small_config(n_train=100, val_fraction=0.1), X, y)
    assert trainer.n_train == 90 and len(trainer.y_val) == 10


def test_every_optimizer_is_known():
    assert set(OPTIMIZERS) == {"gd", "momentum", "adam"}


def test_scaled_initialisation_beats_the_original_standard_normal():
    """The reason scaled initialisation is the default: with standard-normal weights a sigmoid
    network on 784 inputs starts saturated and learns far more slowly."""
    rng = np.random.default_rng(0)
    X = rng.random((600, 784)).astype(np.float32)
    y = (X[:, :392].sum(axis=1) > X[:, 392:].sum(axis=1)).astype(int)
    ld = {"Dim": [784, 64, 2], "Activs": ["sigmoid", "softmax"]}
    results = {}
    for init in ("scaled", "standard_normal"):
        config = TrainConfig(layer_data=ld, epochs=15, mini_batch=32, rate=0.5, optimizer="gd", init=init, val_fraction=0)
        results[init] = list(Trainer(config, X, y).run())[-1].train_acc
    assert results["scaled"] > results["standard_normal"] + 0.1, results


def test_mini_batch_none_is_full_batch_and_the_trainer_reports_what_it_used():
    X, y = blobs(300)
    full = Trainer(small_config(mini_batch=None, epochs=2), X, y)
    big = Trainer(small_config(mini_batch=4096, epochs=2), X, y)
    assert full.batch_size == big.batch_size == full.n_train == 240
    assert Trainer(small_config(mini_batch=16), X, y).batch_size == 16
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="mini_batch"):
            Trainer(small_config(mini_batch=bad), X, y)


def test_grouped_samples_are_held_out_by_whole_groups():
    """Pen-drawn digits come by writer: a writer's digits are all on one side of the split."""
    from nn_core.training import split

    rng = np.random.default_rng(0)
    groups = np.concatenate([np.full(1000, -1), np.repeat(np.arange(10), 50)])  # 1000 loose, 10 writers x 50
    val, train = split(len(groups), None, 0.2, rng, groups)
    assert len(np.intersect1d(val, train)) == 0 and len(val) + len(train) == len(groups)
    val_writers, train_writers = set(groups[val]) - {-1}, set(groups[train]) - {-1}
    assert len(val_writers) == 2 and not val_writers & train_writers
    assert np.sum(groups[val] == -1) == 200  # the loose samples: by sample, as before
    # The Trainer uses the same split: its validation labels come from whole writers.
    X = np.random.default_rng(1).random((len(groups), 4)).astype(np.float32)
    y = np.where(groups < 0, 0, groups % 3)
    trainer = Trainer(small_config(val_fraction=0.2, epochs=1), X, y, groups=groups)
    assert len(trainer.y_val) == 200 + 2 * 50


def test_without_groups_the_split_is_unchanged_by_seed():
    from nn_core.training import split

    a = split(500, 300, 0.1, np.random.default_rng(5))
    b = split(500, 300, 0.1, np.random.default_rng(5))
    assert all(np.array_equal(p, q) for p, q in zip(a, b)) and len(a[0]) == 30 and len(a[1]) == 270


def test_known_traps_are_named_before_a_run_and_good_settings_are_left_alone():
    from nn_core.network import dense_layers
    from nn_core.training import traps

    assert traps(TrainConfig()) == []  # the defaults
    assert traps(TrainConfig(optimizer="gd", rate=0.1, mini_batch=128)) == []
    deep = traps(TrainConfig(layer_data=dense_layers([1024] * 4, "sigmoid"), optimizer="gd", rate=0.1))
    assert len(deep) == 1 and "vanishing gradients" in deep[0]
    assert "overshoot" in traps(TrainConfig(optimizer="adam", rate=1.0))[0]
    assert "diverge" in traps(TrainConfig(optimizer="gd", rate=0.3, mini_batch=1))[0]
    assert "far below" in traps(TrainConfig(optimizer="gd", rate=1e-4))[0]


def test_pending_changes_apply_from_the_next_mini_batch_and_are_reported():
    X, y = blobs()
    made = []

    class Changer(Callback):
        def on_batch(self, epoch, batch, n_batches, cost, size):
            if epoch == 1 and batch == 2:
                self.pending = {"rate": 0.02, "lamda": 1.0}

        def on_change(self, changes):
            made.extend(changes)

    trainer = Trainer(small_config(epochs=2), X, y)
    list(trainer.run(Changer()))
    assert [(c["setting"], c["new"]) for c in made] == [("rate", 0.02), ("lamda", 1.0)]
    assert 0 < made[0]["epoch"] < 1 and trainer.config.rate == 0.02 and trainer.changes == made
