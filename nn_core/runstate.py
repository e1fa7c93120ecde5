"""What a run is doing, as one pure function of what it reported: the run's state machine.

A run has one author: the process that trains it (and, before a process has taken it, the runner
that recorded it). The author writes events; every page shows the state they add up to. People
do not change a run's state: a page's Pause, Resume, Stop or new rate is a *request*, which the
run acknowledges with an event of its own. Until it has, the page shows the request as under way
("pausing ...").

States::

    queued --started--> running --paused--> paused
                        running <--resumed-- paused
    queued, running, paused --ended(status)--> finished | stopped | failed | diverged | cancelled

The ended states are final. ``after`` gives the next state for any event in any state (an event
that does not apply there leaves the state as it is), ``answer`` the page's answer to any request
in any state, ``shown`` the state with the requests not acknowledged yet, and ``controls`` which
buttons a page offers for it. Nothing here reads a clock or a store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

QUEUED, RUNNING, PAUSED = "queued", "running", "paused"
ACTIVE = (QUEUED, RUNNING, PAUSED)  # a run that has not ended
ENDED = ("finished", "stopped", "failed", "diverged", "cancelled")
STATES = ACTIVE + ENDED
# Shown while a request waits for the run to acknowledge it.
PAUSING, RESUMING, STOPPING = "pausing", "resuming", "stopping"
SHOWN = STATES + (PAUSING, RESUMING, STOPPING)

# Events that move the state; the others (batch, epoch, change, notice) report without moving it.
STARTED, PAUSED_EVENT, RESUMED, ENDED_EVENT = "started", "paused", "resumed", "ended"
MOVES = (STARTED, PAUSED_EVENT, RESUMED, ENDED_EVENT)
REQUESTS = ("pause", "resume", "stop", "change")

# Answers to a request: sent for the run's process to acknowledge, done at once by the runner
# (a waiting run cancelled, or its settings changed before it starts), or refused with the reason.
SEND, NOW, REFUSE = "send", "now", "refuse"


@dataclasses.dataclass(frozen=True)
class Answer:
    """What becomes of a request: ``action`` (``SEND``, ``NOW`` or ``REFUSE``) and, when refused,
    why in words a page can show as they are."""

    action: str
    reason: str = ""


def after(state: str, kind: str, body: dict | None = None) -> str:
    """The state after an event of ``kind`` (``ended`` carries ``{"status": ...}``)."""
    if state in ENDED:
        return state  # an ended run stays ended, whatever comes late
    if kind == STARTED and state == QUEUED:
        return RUNNING
    if kind == PAUSED_EVENT and state == RUNNING:
        return PAUSED
    if kind == RESUMED and state == PAUSED:
        return RUNNING
    if kind == ENDED_EVENT:
        status = (body or {}).get("status")
        return status if status in ENDED else "failed"
    return state


def state_of(events: Iterable[tuple[str, dict | None]], state: str = QUEUED) -> str:
    """The state a run's events ``(kind, body)``, oldest first, add up to."""
    for kind, body in events:
        state = after(state, kind, body)
    return state


def answer(state: str, request: str) -> Answer:
    """The answer to ``request`` (one of ``REQUESTS``) for a run in ``state``."""
    if state in ENDED:
        return Answer(REFUSE, "it has ended")
    if request == "stop":
        return Answer(NOW if state == QUEUED else SEND)
    if request == "change":
        return Answer(NOW if state == QUEUED else SEND)
    if request == "pause":
        if state == QUEUED:
            return Answer(REFUSE, "it has not started yet")
        return Answer(SEND) if state == RUNNING else Answer(REFUSE, "it is paused already")
    if request == "resume":
        return Answer(SEND) if state == PAUSED else Answer(REFUSE, "it is not paused")
    return Answer(REFUSE, "a run cannot be asked to %s" % request)


def shown(state: str, pending: Sequence[str] = ()) -> str:
    """The state a page shows: ``state``, or the request under way among ``pending`` (requests
    sent and not acknowledged yet, oldest first)."""
    if state not in ACTIVE:
        return state
    if "stop" in pending:
        return STOPPING
    target = state
    for request in pending:
        if request == "pause" and target == RUNNING:
            target = PAUSED
        elif request == "resume" and target == PAUSED:
            target = RUNNING
    if target == state:
        return state
    return PAUSING if target == PAUSED else RESUMING


@dataclasses.dataclass(frozen=True)
class Controls:
    """The Start / Pause-or-Resume / Stop row for a person's latest run in a shown state."""

    start: bool  # Start usable: no run of theirs trains or waits
    hold: str  # the middle button: "pause" or "resume"
    hold_label: str
    hold_enabled: bool
    stop: bool


def controls(state: str | None) -> Controls:
    """Which buttons a page offers for a run ``shown`` in ``state`` (None: no run yet)."""
    if state is None or state in ENDED:
        return Controls(True, "pause", "Pause", False, False)
    if state == QUEUED:
        return Controls(False, "pause", "Pause", False, True)
    if state == RUNNING:
        return Controls(False, "pause", "Pause", True, True)
    if state == PAUSED:
        return Controls(False, "resume", "Resume", True, True)
    if state == PAUSING:
        return Controls(False, "resume", "Pausing ...", False, True)
    if state == RESUMING:
        return Controls(False, "pause", "Resuming ...", False, True)
    return Controls(False, "pause", "Pause", False, False)  # stopping


def is_active(state: str) -> bool:
    """Whether a run in (shown) ``state`` trains or waits to: it holds its person's one place."""
    return state not in ENDED
