"""The learning-rate range test (Smith 2017; fast.ai's ``lr_find``): one short run whose rate
grows by the same factor at every mini-batch, from ``START`` to ``END`` over ``STEPS`` mini-batches,
recording the cost each time. While the rate is too small the cost hardly moves; then it falls,
fastest at a good rate; past a point the steps overshoot and the cost climbs and blows up.

``RateFinder`` is the ``training.Callback`` that sets each mini-batch's rate, records
``(rate, cost)`` and stops once the cost has clearly blown up; ``RateFinder.wrap(inner)`` lets a
callback that already steers a run (the run task's) keep doing so. ``suggest`` reads the curve and
says why in words; ``find_rate`` does all of it in this process (the command line, the tests).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .training import Callback, EpochRecord, TrainConfig, Trainer, batch_size

START, END, STEPS = 1e-5, 1.0, 100
BETA = 0.9  # how much the smoothed cost remembers: about the last 1 / (1 - BETA) = 10 mini-batches
DIVERGED = 4.0  # stop once the smoothed cost is this many times its lowest so far
MIN_POINTS = 10  # fewer mini-batches than this are too few to suggest anything


def rates(start: float = START, end: float = END, steps: int = STEPS) -> list[float]:
    """``steps`` rates from ``start`` to ``end``, each the one before times the same factor."""
    if not (0 < start < end) or steps < 2:
        raise ValueError("the rates must grow from a positive start to a larger end over at least 2 steps")
    return [float(r) for r in np.geomspace(start, end, steps)]


def smoothed(costs: list[float], beta: float = BETA) -> list[float]:
    """An exponential moving average of ``costs``, each point mostly the ones just before it;
    divided by ``1 - beta**n`` so that the first points are not pulled towards 0 (bias correction)."""
    out, average = [], 0.0
    for n, c in enumerate(costs, 1):
        average = beta * average + (1 - beta) * c
        out.append(average / (1 - beta**n))
    return out


def _centred(costs: list[float], beta: float) -> np.ndarray:
    """Smoothed forwards, then backwards: each point then leans on both sides, so the curve
    is not shifted towards larger rates (``smoothed`` alone lags about 1 / (1 - beta) steps)."""
    forward = smoothed(costs, beta)
    return np.array(smoothed(forward[::-1], beta)[::-1])


def centred(costs: list[float], beta: float = BETA) -> list[float]:
    """The costs smoothed as the suggestion reads them (both ways, no lag): the line to draw, so
    that its lowest point is where the suggestion says the cost is lowest."""
    return [float(v) for v in _centred(list(costs), beta)] if len(costs) else []


@dataclasses.dataclass
class Suggestion:
    """``rate``: the suggested one (None when the curve says too little); ``steepest``: where the
    cost falls fastest; ``blowup``: where it is lowest, just before it climbs; ``reason`` in words."""

    rate: float | None
    steepest: float | None
    blowup: float | None
    reason: str


def suggest(rates: list[float], costs: list[float], beta: float = BETA) -> Suggestion:
    """A rate from a range test's ``rates`` and their ``costs``: midway, on a log scale, between
    where the smoothed cost falls fastest against log(rate) (``steepest``, a cautious choice) and
    where it is lowest (``blowup``: larger rates make it climb). On small MNIST networks the
    midway rate came within a factor of 3 of the best constant rate of a sweep, where "fastest"
    or "a tenth of the lowest" alone were often 3-10 times too small (see tests/test_ratefinder.py)."""
    n = min(len(rates), len(costs))
    if n < MIN_POINTS:
        return Suggestion(None, None, None, "only %d mini-batches ran: too few to suggest a rate (it needs %d)" % (n, MIN_POINTS))
    r, c = np.asarray(rates[:n], dtype=float), _centred(list(costs[:n]), beta)
    lowest = int(np.argmin(c))
    blowup = float(r[lowest])
    # The slope over a few steps either side, so one noisy mini-batch does not make the steepest point.
    k = max(1, n // 20)
    slopes = np.full(n, np.inf)
    for i in range(k, lowest - k + 1):
        slopes[i] = (c[i + k] - c[i - k]) / math.log(r[i + k] / r[i - k])
    if lowest < 2 * k or slopes.min() >= 0:
        return Suggestion(
            float(r[0]),
            None,
            blowup,
            "the cost never fell: even %s is too large a rate here; start the finder lower" % _g(float(r[0])),
        )
    steepest = float(r[int(np.argmin(slopes))])
    rate = float("%.2g" % math.sqrt(steepest * blowup))
    if lowest == n - 1:
        reason = (
            "the cost falls fastest near %s and was still falling at %s, the largest rate tried; "
            "suggested: %s, between the two (a finder that goes higher may suggest more)" % (_g(steepest), _g(blowup), _g(rate))
        )
    else:
        reason = (
            "the cost falls fastest near %s and is lowest near %s, after which it blows up; suggested: %s, between the two"
            % (
                _g(steepest),
                _g(blowup),
                _g(rate),
            )
        )
    return Suggestion(rate, steepest, blowup, reason)


def _g(x: float) -> str:
    """A rate as the slider and the chart write it, to 2 figures: 0.003, 0.0076, 0.01, 0.33
    (powers of ten only below 0.0001, where the zeros are hard to count: 3e-05)."""
    if x >= 1e-4:
        return np.format_float_positional(float("%.2g" % x), trim="-")
    mantissa, exponent = ("%.1e" % x).split("e")
    return "%se-%02d" % (mantissa.rstrip("0").rstrip("."), -int(exponent))


@dataclasses.dataclass
class FinderResult:
    """What a range test measured: the rate and cost of every mini-batch, the smoothed costs (for
    the chart), the suggestion, and how the run ended in words."""

    rates: list[float]
    costs: list[float]
    smoothed: list[float]
    suggestion: Suggestion
    message: str = ""

    @classmethod
    def of(cls, rates: list[float], costs: list[float], message: str = "") -> FinderResult:
        """The result of the pairs ``(rates[i], costs[i])``, e.g. read back from a run's events."""
        rates, costs = [float(r) for r in rates], [float(c) for c in costs]
        return cls(rates, costs, smoothed(costs), suggest(rates, costs), message)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> FinderResult:
        return cls(**{**d, "suggestion": Suggestion(**d["suggestion"])})


class RateFinder(Callback):
    """A ``Callback`` that gives mini-batch ``step`` the rate ``rates(start, end, steps)[step]``,
    records each mini-batch's rate and cost (``rates``, ``costs``), and sets ``stop_training`` once
    the smoothed cost exceeds ``DIVERGED`` times its lowest, or after ``steps`` mini-batches."""

    def __init__(
        self, start: float = START, end: float = END, steps: int = STEPS, listener: Callable[[float, float], None] | None = None
    ) -> None:
        """``listener(rate, cost)``, if given, hears every mini-batch (a live table or chart)."""
        super().__init__()
        self.schedule = rates(start, end, steps)
        self.listener = listener
        self.rates: list[float] = []
        self.costs: list[float] = []
        self._rate = self.schedule[0]
        self._sum, self._lowest = 0.0, math.inf

    def rate_for(self, step: int, rate: float) -> float:
        self._rate = self.schedule[min(step, len(self.schedule) - 1)]
        return self._rate

    def on_batch(self, epoch: int, batch: int, n_batches: int, cost: float, size: int) -> None:
        self.record(self._rate, cost)

    def record(self, rate: float, cost: float) -> None:
        """Keep one mini-batch's rate and cost; stop the run if the cost blew up or the steps are done."""
        self.rates.append(float(rate))
        self.costs.append(float(cost))
        if self.listener is not None:
            self.listener(float(rate), float(cost))
        n = len(self.costs)
        self._sum = BETA * self._sum + (1 - BETA) * cost  # ``smoothed``, one point at a time
        average = self._sum / (1 - BETA**n)
        self._lowest = min(self._lowest, average)
        if n >= len(self.schedule) or (n >= MIN_POINTS and average > DIVERGED * self._lowest):
            self.stop_training = True

    def result(self, message: str = "") -> FinderResult:
        return FinderResult.of(self.rates, self.costs, message)

    def wrap(self, inner: Callback) -> Wrapped:
        """A callback that is ``inner`` in every way (its pending changes, pauses, records) except
        that this finder sets each mini-batch's rate, records its cost and may also stop the run."""
        return Wrapped(self, inner)


class Wrapped(Callback):
    """``inner`` steered by a ``RateFinder``: every call goes to both; it stops when either says so."""

    def __init__(self, finder: RateFinder, inner: Callback) -> None:
        # Callback.__init__ is not called: ``pending`` and ``stop_training`` are the inner's.
        self.finder, self.inner = finder, inner

    @property
    def pending(self) -> dict:
        return self.inner.pending

    @pending.setter
    def pending(self, value: dict) -> None:
        self.inner.pending = value

    @property
    def stop_training(self) -> bool:
        return self.inner.stop_training or self.finder.stop_training

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self.inner.stop_training = value

    def before_batch(self) -> None:
        self.inner.before_batch()

    def rate_for(self, step: int, rate: float) -> float:
        return self.finder.rate_for(step, self.inner.rate_for(step, rate))

    def on_batch(self, epoch: int, batch: int, n_batches: int, cost: float, size: int) -> None:
        self.finder.on_batch(epoch, batch, n_batches, cost, size)
        self.inner.on_batch(epoch, batch, n_batches, cost, size)

    def on_change(self, made: list) -> None:
        self.inner.on_change(made)

    def on_epoch_end(self, record: EpochRecord) -> None:
        self.inner.on_epoch_end(record)

    def __getattr__(self, name: str) -> Any:  # anything else the inner callback has (its trainer, say)
        if name in ("finder", "inner"):  # not set yet (a copy being made): no endless lookup
            raise AttributeError(name)
        return getattr(self.inner, name)


def finder_config(config: TrainConfig, n_train: int, steps: int = STEPS) -> TrainConfig:
    """``config`` for a range test on ``n_train`` available images: a constant schedule (the
    finder sets every rate) and just enough epochs for ``steps`` mini-batches."""
    config = TrainConfig(**{**config.to_dict(), "schedule": "constant"})
    n = config.n_train if config.n_train is not None else n_train
    n = max(1, n - int(round(n * config.val_fraction)))
    per_epoch = math.ceil(n / batch_size(config.mini_batch, n))
    config.epochs = max(1, math.ceil(steps / per_epoch))
    return config.validate()


def find_rate(
    config: TrainConfig,
    images: Any,
    labels: Any,
    start: float = START,
    end: float = END,
    steps: int = STEPS,
    on_batch: Callable[[float, float], None] | None = None,
    groups: Any = None,
) -> FinderResult:
    """Run a range test here on ``images`` and ``labels`` (and their ``groups``, see ``Trainer``)
    with ``config``'s network, optimizer and mini-batch size. ``on_batch(rate, cost)``, if given,
    hears every mini-batch (for a live table)."""
    finder = RateFinder(start, end, steps, listener=on_batch)
    trainer = Trainer(finder_config(config, len(labels), steps), images, labels, groups=groups)
    for _ in trainer.run(finder):
        pass
    if trainer.status == "diverged":
        message = "stopped when the cost stopped being a number, after %d mini-batches" % len(finder.costs)
    elif len(finder.costs) < steps:
        message = "stopped after %d mini-batches: the cost had blown up" % len(finder.costs)
    else:
        message = "ran all %d mini-batches" % steps
    return finder.result(message)
