"""The rate finder: its geometric schedule reaches the trainer through ``Callback.rate_for``, it
stops once the cost blows up, it composes with another callback, its suggestion reads a known
curve right, and on MNIST it lands within a factor of 3 of the best rate a sweep finds."""

import json
import math

import numpy as np
import pytest

from conftest import blobs
from nn_core import ratefinder
from nn_core.network import dense_layers
from nn_core.ratefinder import FinderResult, RateFinder, find_rate, finder_config, rates, smoothed, suggest
from nn_core.sweep import Axis, SweepPlan, landscape, values
from nn_core.training import Callback, TrainConfig, Trainer

SMALL = {"Dim": [4, 8, 3], "Activs": ["relu", "softmax"]}


def small_config(**overrides):
    settings = dict(layer_data=SMALL, epochs=3, mini_batch=16, rate=0.05, optimizer="gd", schedule="constant", seed=1)
    return TrainConfig(**{**settings, **overrides})


def test_rates_grow_by_one_factor():
    r = rates()
    assert len(r) == ratefinder.STEPS and r[0] == pytest.approx(1e-5) and r[-1] == pytest.approx(1.0)
    ratios = np.diff(np.log(r))
    assert np.allclose(ratios, ratios[0])
    with pytest.raises(ValueError):
        rates(1.0, 1e-5, 10)


def test_smoothed_is_a_bias_corrected_moving_average():
    assert smoothed([2.0] * 5) == pytest.approx([2.0] * 5)  # no pull towards 0 at the start
    costs = [3.0, 1.0, 2.0, 5.0]
    average, expected = 0.0, []
    for n, c in enumerate(costs, 1):
        average = 0.9 * average + 0.1 * c
        expected.append(average / (1 - 0.9**n))
    assert smoothed(costs) == pytest.approx(expected)


def test_the_trainer_uses_the_rate_a_callback_gives():
    X, y = blobs()

    class Fixed(Callback):
        def __init__(self):
            super().__init__()
            self.steps = []

        def rate_for(self, step, rate):
            self.steps.append((step, rate))
            return 0.05

    fixed = Fixed()
    a = Trainer(small_config(rate=0.5, schedule="cosine"), X, y)
    records_a = list(a.run(fixed))
    b = Trainer(small_config(rate=0.05), X, y)
    records_b = list(b.run())
    n_batches = math.ceil(a.n_train / 16)
    assert [s for s, _ in fixed.steps] == list(range(3 * n_batches))  # 0-based, over the whole run
    assert fixed.steps[n_batches][1] == pytest.approx(a.rate_at(1))  # it is told the scheduled rate
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert [r.rate for r in records_a] == [0.05] * 3 and records_a[-1].train_cost == records_b[-1].train_cost


def test_finder_follows_its_schedule_and_stops_after_its_steps():
    X, y = blobs(600)
    finder = RateFinder(1e-4, 1e-1, 40)
    trainer = Trainer(finder_config(small_config(), 600, steps=40), X, y)
    list(trainer.run(finder))
    assert trainer.status == "stopped"
    assert finder.rates == pytest.approx(rates(1e-4, 1e-1, 40))
    assert len(finder.costs) == 40 and all(math.isfinite(c) for c in finder.costs)


def test_finder_stops_once_the_cost_blows_up():
    finder = RateFinder(steps=100)
    for i in range(30):
        finder.record(1e-3, 2.0 - i * 0.05)  # falls to 0.55
    assert not finder.stop_training
    n = 30
    while not finder.stop_training and n < 100:
        finder.record(1e-1, 50.0)
        n += 1
    assert finder.stop_training and n < 40  # a few mini-batches at 50, not the remaining 70


def test_wrapped_finder_keeps_the_inner_callback_working():
    X, y = blobs(600)

    class Inner(Callback):
        def __init__(self):
            super().__init__()
            self.batches, self.epochs, self.changes = 0, 0, []
            self.trainer = "the inner's own attribute"

        def on_batch(self, epoch, batch, n_batches, cost, size):
            self.batches += 1
            if self.batches == 5:
                self.pending = {"lamda": 0.5}
            if self.batches == 25:
                self.stop_training = True

        def on_change(self, made):
            self.changes.extend(made)

        def on_epoch_end(self, record):
            self.epochs += 1

    inner, finder = Inner(), RateFinder(1e-4, 1e-1, 100)
    wrapped = finder.wrap(inner)
    trainer = Trainer(finder_config(small_config(), 600, steps=100), X, y)
    list(trainer.run(wrapped))
    assert wrapped.trainer == "the inner's own attribute"
    assert inner.batches == len(finder.costs) == 25  # the inner's stop stopped it
    assert [c["setting"] for c in inner.changes] == ["lamda"] and trainer.config.lamda == 0.5
    assert inner.epochs == 25 // math.ceil(trainer.n_train / 16)
    assert finder.rates == pytest.approx(rates(1e-4, 1e-1, 100)[:25])
    # and the finder's own stop stops the wrapped run too
    short = RateFinder(1e-4, 1e-1, 10)
    inner2 = Callback()
    list(Trainer(finder_config(small_config(), 600, steps=100), X, y).run(short.wrap(inner2)))
    assert len(short.costs) == 10 and not inner2.stop_training


def test_finder_config():
    base = TrainConfig(epochs=15, schedule="cosine", mini_batch=64, n_train=1000, val_fraction=0.1)
    config = finder_config(base, 60_000)
    per_epoch = math.ceil(900 / 64)
    assert config.schedule == "constant" and config.epochs == math.ceil(100 / per_epoch)
    assert (base.epochs, base.schedule) == (15, "cosine")
    assert finder_config(TrainConfig(mini_batch=128, val_fraction=0.0), 60_000).epochs == 1
    assert finder_config(TrainConfig(mini_batch=None), 5000).epochs == 100


def curve(noise=0.0, seed=0):
    """A made-up range test: flat, falling fastest at 10**-2.5, lowest near 10**-1, then climbing."""
    r = np.array(rates())
    x = np.log10(r)
    c = 0.2 + 2.0 / (1 + np.exp(4 * (x + 2.5))) + 5 * np.maximum(0, x + 1) ** 2
    return list(r), list(c + noise * np.random.default_rng(seed).standard_normal(len(r)))


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_suggest_reads_a_known_curve(noise):
    finder = RateFinder()
    for rate, cost in zip(*curve(noise)):  # as a run would give them, until the finder stops it
        finder.record(rate, cost)
        if finder.stop_training:
            break
    s = finder.result().suggestion
    assert s.steepest == pytest.approx(10**-2.5, rel=0.5)
    # Smoothing leans the lowest point towards the flat side of a minimum this lopsided: a little lower.
    assert 0.04 <= s.blowup <= 0.15
    assert 1 / 1.6 <= s.rate / math.sqrt(10**-2.5 * 0.1) <= 1.6
    words = "the cost falls fastest near %s and is lowest near %s, after which it blows up; suggested: %s, between the two"
    assert s.reason == words % (ratefinder._g(s.steepest), ratefinder._g(s.blowup), ratefinder._g(s.rate))
    assert ratefinder._g(0.00298) == "0.003" and ratefinder._g(0.0076) == "0.0076" and ratefinder._g(0.33) == "0.33"
    assert ratefinder._g(3.04e-5) == "3e-05" and ratefinder._g(1.0) == "1"


def test_suggest_says_when_it_cannot():
    r, c = curve()
    few = suggest(r[:5], c[:5])
    assert few.rate is None and "too few" in few.reason
    rising = suggest(r, list(np.linspace(2, 9, len(r))))
    assert rising.rate == r[0] and "never fell" in rising.reason
    still_falling = suggest(r[:70], c[:70])  # stopped before the cost was lowest
    assert "still falling" in still_falling.reason and still_falling.rate < r[69]


def test_finder_result_round_trips_through_json():
    r, c = curve(0.05)
    result = FinderResult.of(r, c, "ran all 100 mini-batches")
    again = FinderResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result and again.suggestion.rate == suggest(r, c).rate
    assert again.smoothed == pytest.approx(smoothed(c))


@pytest.mark.slow
@pytest.mark.parametrize("optimizer,low,high", [("adam", 1e-4, 0.1), ("gd", 3e-3, 3.0)])
def test_suggested_rate_is_within_a_factor_3_of_the_best_swept_rate(mnist, optimizer, low, high):
    """On 4,000 MNIST images: the finder's suggestion against the best of 7 constant rates, each
    trained for 3 epochs (spaced about 3.2 times apart: the best is known to about that)."""
    X, y = mnist.x_train[:4000], mnist.y_train[:4000]
    base = TrainConfig(
        layer_data=dense_layers([64]), epochs=3, mini_batch=64, optimizer=optimizer, schedule="constant", dropout=0.0
    )
    base.val_fraction = 0.25  # 1,000 validation images: the best rate is not a matter of a few digits
    found = find_rate(base, X, y)
    plan = SweepPlan([Axis("rate", values("rate", low, high, 7))], base)
    results = []
    for config in plan.configs():
        trainer = Trainer(config, X, y)
        records = list(trainer.run())
        results.append({"val_acc": records[-1].val_acc if trainer.status == "finished" else None})
    best = plan.points()[landscape(plan, results).best]["rate"]
    suggested = found.suggestion.rate
    print("%s: suggested %g (%s), best swept %g" % (optimizer, suggested, found.suggestion.reason, best))
    assert suggested is not None and 1 / 3 <= suggested / best <= 3
