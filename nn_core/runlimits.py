"""A server's limits on runs, and how its cores are shared among the runs training on one machine."""

from __future__ import annotations

import os

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


def blas_threads(running: int) -> int:
    """BLAS threads for each of ``running`` runs on one machine: its cores shared among them."""
    return max(1, cores() // max(1, running))
