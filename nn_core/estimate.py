"""How long a run takes, said before Start as a range and during the run from its own pace.

Before Start: the arithmetic of the run (``training.estimated_seconds``, at this code's nominal
speed) times this server's *pace*: how many seconds recent runs really took per second of that
arithmetic. The pace is a weighted median, so that one run slowed tenfold moves it little, and
each run is first corrected for the share of the machine it had (``machine_share``: when other
processes or other runs kept the cores busy, a run had half of them, and its pace is halved and
counts half). The range is the spread of those paces (at least ``BAND``), plus the wait for a
free place. During the run, the time left comes from its own pace (``count_down``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from .training import estimated_seconds
from .words import counted

# Without finished runs to go by (bench/estimate.py measures them on this machine):
STARTUP_SECONDS = 1.0  # a worker building the run's data (MNIST read, the pen-drawn digits from their cache)
CLUSTER_SECONDS = 1.0  # the embedded cluster starting, the first time a server sends a run
TEST_SECONDS = 0.5  # measuring the network on the 10,000 test images
# Training time over ``estimated_seconds`` on the project's 2-core machine (a run alone on a Dask
# worker, December 2026: 0.27-0.39 for the defaults and three small networks), when ``probe_rate``
# read 103 GFLOP/s there. A fresh server scales it by its own probe: the same code on a machine
# (or at a moment) with half the arithmetic takes twice as long. Without the probe, its first
# estimate had been 3-5 times the time its runs took.
PACE = 0.33
PROBE_RATE = 103e9
BAND = (0.75, 1.5)  # the range around the estimate, at its narrowest
FRESH_BAND = (0.6, 1.6)  # with fewer than 3 runs to go by: the built-in figures' spread (bench/estimate.py --fresh)
PRIOR_WEIGHT = 1.0  # the built-in pace counts as one run among the recent ones
LEFT_SMOOTHING = 0.1  # weight of each new reading in the time left
MOST_UP = 0.1  # the time left grows by at most this share per report (4 a second): under half per refresh


@dataclasses.dataclass
class Expected:
    """A run's expected time from Start to its results (``seconds``, between ``low`` and
    ``high``), and what the server is doing meanwhile."""

    seconds: float
    low: float
    high: float
    training: int  # runs under way now (training, or paused and holding their place)
    waiting: int  # runs waiting for a place
    wait: float  # of ``seconds``, the wait for a free place

    def __str__(self) -> str:
        span = duration_range(self.low, self.high)
        if self.wait > 0:
            return "%s under way, %d waiting: %s, about %s of it waiting for a place" % (
                _runs(self.training),
                self.waiting,
                span,
                duration(self.wait),
            )
        if self.training:
            return "%s under way: %s" % (_runs(self.training), span)
        return span[0].upper() + span[1:]


def _runs(n: int) -> str:
    """ "1 run is", "2 runs are" (a paused run holds its place too, so "under way", not "training")."""
    return "%s %s" % (counted(n, "run"), "is" if n == 1 else "are")


def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float) -> float:
    """The value below which the share ``q`` of the weight lies (0.5: the weighted median)."""
    pairs = sorted(zip(values, weights))
    target, seen = q * sum(w for _, w in pairs), 0.0
    for value, weight in pairs:
        seen += weight
        if seen >= target:
            return value
    return pairs[-1][0]


def _share(t: tuple) -> float:
    """The share of its machine a recorded run had (1 when it was not measured)."""
    return min(1.0, max(0.05, t[4] if len(t) > 4 and t[4] else 1.0))


def _corrected(timings: Sequence[tuple], seconds, prior: float) -> tuple[list, list]:
    """``seconds(t)`` of each recorded run as it would have been with the machine to itself, and
    each run's weight (its share: a run slowed by others counts less); the built-in figure first."""
    values, weights = [prior], [PRIOR_WEIGHT]
    for t in timings:
        value = seconds(t)
        if value is not None and value >= 0:
            values.append(value * _share(t))
            weights.append(_share(t))
    return values, weights


def pace(timings: Sequence[tuple]) -> tuple[float, float, float]:
    """This server's pace from recent runs' ``(startup, training, estimate, test, share)``:
    ``(median, low, high)`` seconds of training per second of arithmetic, each run corrected for
    the share of the machine it had and weighed by it; the built-in pace (``PACE`` scaled by this
    machine's ``probe_rate``) counts as one run.
    ``low`` and ``high`` are the weighted 20th and 80th percentiles, as factors of the median."""
    prior = PACE * PROBE_RATE / probe_rate()
    values, weights = _corrected(timings, lambda t: t[1] / t[2] if t[1] and t[2] and t[1] > 0 and t[2] > 0 else None, prior)
    middle = weighted_quantile(values, weights, 0.5)
    band = BAND if len(values) > 3 else FRESH_BAND
    low = min(band[0], weighted_quantile(values, weights, 0.2) / middle)
    high = max(band[1], weighted_quantile(values, weights, 0.8) / middle)
    return middle, low, high


def expected(
    config,
    n_train: int,
    timings: Sequence[tuple],
    busy: tuple[list, list],
    workers: int,
    cores: int,
    cluster_started: bool,
    drawing: float = 0.0,
    others: float = 0.0,
) -> Expected:
    """How long ``config`` on ``n_train`` images should take from Start to its results: the wait
    for a free worker, building the data (``drawing``: seconds of drawing pen-drawn digits that
    are not in the cache yet), training at this server's pace (slowed by the runs it would share
    its machine with, and by ``others``: how many cores other work keeps busy there now, see
    ``others_busy``), and the test set."""
    startup = weighted_quantile(*_corrected(timings, lambda t: t[0], STARTUP_SECONDS), 0.5) + drawing
    startup += 0.0 if cluster_started else CLUSTER_SECONDS
    test = weighted_quantile(*_corrected(timings, lambda t: t[3], TEST_SECONDS), 0.5)
    middle, low, high = pace(timings)
    training_now, waiting = busy
    sharing = min(len(training_now), workers - 1) if len(training_now) < workers else 0
    slowed = max(1, cores) / max(1, cores // (sharing + 1))  # its cores shared with the runs beside it
    slowed *= (max(0.0, others) + max(1, cores)) / max(1, cores)  # and with whatever else keeps them busy
    training = estimated_seconds(config, n_train) * middle * slowed
    wait = 0.0
    if len(training_now) + len(waiting) >= workers:  # every worker busy: a place frees as runs end
        wait = min(training_now, default=0.0) + sum(waiting) * middle / workers
    fixed = startup + test + wait
    return Expected(fixed + training, fixed + training * low, fixed + training * high, len(training_now), len(waiting), wait)


_probed: list[float] = []


def probe_rate() -> float:
    """This machine's float32 matrix-multiply rate on one core for a product the size of a default
    mini-batch's first layer (256 x 784 by 784 x 128), best of 11; measured once per process (about
    10 ms), with whatever else the machine is doing then."""
    if not _probed:
        rng = np.random.default_rng(0)
        a, b = rng.random((256, 784), dtype=np.float32), rng.random((784, 128), dtype=np.float32)
        best = float("inf")
        with threadpool_limits(1, user_api="blas"):
            for _ in range(11):
                start = time.perf_counter()
                a @ b
                best = min(best, time.perf_counter() - start)
        _probed.append(max(2 * 256 * 784 * 128 / max(best, 1e-9), 1e8))
    return _probed[0]


# Of the load average, what is not counted as other work: it remembers this server's own runs for a
# minute after they end (a run that has just ended would slow the next estimate by half), and a
# desktop's background keeps some of a core busy anyway.
LOAD_SLACK = 0.5  # per core


def others_busy(cores: int, ours: float) -> float:
    """How many of this machine's cores other work keeps busy now: the load average of the last
    minute less ``ours`` (the cores this server's own runs use) and ``LOAD_SLACK``, 0 where it cannot
    be read. The pace learned from runs is as if each had had the machine to itself
    (``machine_share``); this is what a run started now would share it with."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return 0.0
    return min(float(4 * cores), max(0.0, load - ours - LOAD_SLACK * cores))


def machine_busy() -> float | None:
    """Seconds of CPU the whole machine has spent busy since it started (all cores, all
    processes), or None where that cannot be read (only Linux says)."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class ShareMeter:
    """The share of its machine's cores a training process had, from its start to ``share()``:
    what was not taken by other processes (other runs, or anything else busy there)."""

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self.start()

    def start(self) -> None:
        self.busy, self.own, self.wall = machine_busy(), _own_cpu(), _wall()

    def share(self) -> float | None:
        busy = machine_busy()
        wall = _wall() - self.wall
        if busy is None or self.busy is None or wall <= 0:
            return None
        others = max(0.0, (busy - self.busy) - (_own_cpu() - self.own))
        return max(0.05, min(1.0, 1.0 - others / (wall * self.cores)))


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _wall() -> float:
    return os.times().elapsed


def count_down(previous: tuple | None, raw: float, now: float) -> tuple[float, float]:
    """The time left, steady: ``previous`` is the last ``(seconds left, when)`` or None, ``raw``
    the new reading from the run's pace at time ``now``. The last figure is counted down by the
    time gone by, then moved a little (``LEFT_SMOOTHING``) towards the reading, upwards by at most
    ``MOST_UP`` of itself: the figure never jumps up (a cause that changes the pace, a pause or a
    run starting beside it, starts the count again from a new reading). Returns ``(left, now)``."""
    if previous is None:
        return raw, now
    left, then = previous
    counted = max(0.0, left - (now - then))
    if raw < counted / 2:  # far faster (a larger share of the cores): taken at once, good news may jump
        return raw, now
    moved = counted + LEFT_SMOOTHING * (raw - counted)
    return min(moved, counted * (1 + MOST_UP) + 0.5), now


def duration(seconds: float) -> str:
    """A length of time in words: "40 seconds", "25 minutes", "2.5 hours"."""
    if seconds < 90:
        return counted(max(round(seconds), 1), "second")
    if seconds < 5400:
        return "%.0f minutes" % (seconds / 60)
    return "%.1f hours" % (seconds / 3600)


def duration_range(low: float, high: float) -> str:
    """A range of time in words, in one unit: "about 40-70 seconds", "about 2-4 minutes"."""
    if high < 90:
        a, b, unit = max(low, 1), max(high, 1), "seconds"
    elif low < 60:
        return "about %s to %s" % (duration(low), duration(high))
    elif high < 5400:
        a, b, unit = low / 60, high / 60, "minutes"
    else:
        return "about %.1f-%.1f hours" % (low / 3600, high / 3600)
    a, b = round(a), round(b)
    return "about %s" % counted(a, unit[:-1]) if a >= b else "about %d-%d %s" % (max(a, 1), b, unit)
