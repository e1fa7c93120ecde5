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


def blas_threads(running: int, others: float = 0.0) -> int:
    """BLAS threads for each of ``running`` runs on one machine: its cores shared among them, and
    no more than the cores that other processes (``others``: cores they kept busy lately, other
    runs included) leave free, rounded. OpenBLAS's threads wait for one another at every product,
    so one that shares its core with another process holds them all back: with both cores of the
    project's machine kept busy by another process, a run on two threads trained 2-30 times slower
    than on one (bench/engine.py --busy)."""
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
