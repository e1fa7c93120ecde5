"""When a run that has not ended never will: the run layer's one rule, and where runs are sent.

A run is sent to an ``engine``: a Dask scheduler's address, or the cluster embedded in one app
server's process (``embedded:host:pid``). It is lost when that embedded server's process has
ended (a restart: runs train beside it there), or when its own process has written nothing for
``lost_after()`` seconds (its machine went away, or it could not reach the database for that
long). The run store applies the rule (``runs.RunStore``) in the transaction that ends the run.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from .runstate import ACTIVE, QUEUED

LOST_ENV = "NN_CORE_RUN_LOST_SECONDS"
DEFAULT_LOST_SECONDS = 30.0  # a run's process writes a heartbeat every few seconds, even while it builds its data
EMBEDDED = "embedded:"
RESTARTED_MESSAGE = (
    "Stopped: the app server restarted while it trained (on this machine runs train beside it). Its curves "
    "and its network at the end of its last epoch are kept."
)
RESTARTED_WAITING = "Not started: the app server restarted while it waited. Start it again."
LOST_MESSAGE = (
    "The training stopped answering: the process training it ended (the app server restarted, or the machine "
    "training it went away), or it could not reach the database for %d seconds. Its curves and its network "
    "at the end of its last epoch are kept."
)


def lost_after() -> float:
    """Seconds without a heartbeat after which a run counts as lost (``NN_CORE_RUN_LOST_SECONDS``)."""
    try:
        value = float(os.environ.get(LOST_ENV, DEFAULT_LOST_SECONDS))
    except ValueError:
        return DEFAULT_LOST_SECONDS
    return value if value > 0 else DEFAULT_LOST_SECONDS


def engine(address: str | None) -> str:
    """Where a runner sends runs, as recorded with each: its scheduler's ``address``, or the
    cluster embedded in this process."""
    return address or "%s%s:%d" % (EMBEDDED, socket.gethostname(), os.getpid())


def lost(record: Any, now: float | None = None) -> tuple[str, str] | None:
    """Why a run that has not ended never will, as ``(status, message)``, or None if it may.
    ``record`` has ``status``, ``engine`` and ``heartbeat`` (a ``runs.RunRecord``)."""
    if record.status not in ACTIVE:
        return None
    now = time.time() if now is None else now
    if record.engine.startswith(EMBEDDED):
        _, host, pid = record.engine.split(":")
        if host == socket.gethostname() and not _alive(int(pid)):
            return ("cancelled", RESTARTED_WAITING) if record.status == QUEUED else ("stopped", RESTARTED_MESSAGE)
    if record.status != QUEUED and (record.heartbeat or 0) < now - lost_after():
        return "failed", LOST_MESSAGE % lost_after()
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
