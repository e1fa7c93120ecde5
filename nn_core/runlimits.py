"""A server's limits on runs, and how its cores are shared among the runs training on one machine."""

from __future__ import annotations

import os

from .estimate import ShareMeter
from .runspec import MAX_RUN_MB  # noqa: F401 (what one run's process may hold: one home, beside memory_needed)

MAX_MINUTES_ENV = "NN_CORE_MAX_RUN_MINUTES"
DEFAULT_MAX_MINUTES = 120
MAX_PAUSE_ENV = "NN_CORE_MAX_PAUSE_MINUTES"
DEFAULT_MAX_PAUSE_MINUTES = 3


class TooLong(ValueError):
    """Refused: the run's estimated time is above the server's limit (``max_minutes``)."""


def _minutes(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return float(default)
    return value if value > 0 else float(default)


def max_minutes() -> float:
    """The longest run this server accepts, in minutes (``NN_CORE_MAX_RUN_MINUTES``, default 120)."""
    return _minutes(MAX_MINUTES_ENV, DEFAULT_MAX_MINUTES)


def max_pause_seconds() -> float:
    """How long a run may stay paused while others wait (``NN_CORE_MAX_PAUSE_MINUTES``, default 3)."""
    return 60 * _minutes(MAX_PAUSE_ENV, DEFAULT_MAX_PAUSE_MINUTES)


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# A mini-batch whose forward pass is smaller than this many operations trains faster on one thread:
# starting the threads and waiting for them costs more than sharing the work saves (idle, one
# epoch: 64 neurons at mini-batch 16 and 256 at 16, 1.6 and 6.5e6 operations, took 1.26x and 1.31x
# as long on two threads as on one; 256 at 128, 5.2e7, 0.93x; 800-800 at 128, 3.3e8, 0.79x).
SMALL_STEP = 3e7


def blas_threads(running: int, others: float = 0.0, step: float | None = None) -> int:
    """BLAS threads for each of ``running`` runs on one machine: its cores shared among them, and
    no more than the cores that other processes (``others``: cores they kept busy lately, other
    runs included) leave free, rounded; one for a mini-batch of fewer than ``SMALL_STEP``
    operations (``step``). OpenBLAS's threads wait for one another at every product, so one that
    shares its core with another process holds them all back: with both cores of the project's
    machine kept busy by other processes, two threads trained 1.9-14x slower than one
    (``python bench/busy.py``)."""
    if step is not None and step < SMALL_STEP:
        return 1
    free = max(1, round(cores() - others))
    return max(1, min(cores() // max(1, running), free))


class BusyCores:
    """How many cores the other processes of this machine kept busy lately (other runs included),
    from one ``look`` to the next, smoothed so that one busy moment does not change a run's threads."""

    def __init__(self) -> None:
        self.meter = ShareMeter(cores())
        self.others = 0.0

    def look(self, first: bool = False) -> float:
        share = self.meter.share()
        self.meter.start()
        if share is not None and not first:  # (the first look spans no time worth measuring)
            self.others = 0.5 * self.others + 0.5 * (1 - share) * self.meter.cores
        return self.others
