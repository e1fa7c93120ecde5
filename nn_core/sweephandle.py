"""A handle on one sweep, for the pages: its plan, its runs in the plan's order, its landscape so
far, its state in words, and Stop.

Any process can make one from the sweep's id (``Runner.sweep``): the sweep and its runs are in the
run store, so a sweep survives a reload, a new tab and a restart of the app server, as a run does.
"""

from __future__ import annotations

import time
from typing import Any

from . import sweep, words
from .runhandle import Run
from .runstate import ACTIVE, QUEUED

FIGURES = ("val_acc", "val_cost", "test_acc")


class Sweep:
    """One sweep (see the module's description). Its runs are read from the store at most every
    ``FRESH`` seconds, all in one query."""

    FRESH = 0.2

    def __init__(self, runner: Any, record: dict) -> None:
        self.runner = runner
        self.id: str = record["id"]
        self.owner: str | None = record["owner"]
        self.label: str = record["label"] or "sweep"
        self.created: float = record["created"]
        self.plan = sweep.SweepPlan.from_dict(record["plan"])
        self._runs: dict[str, Run] = {}
        self._records: list = []
        self._read = 0.0

    @classmethod
    def read(cls, runner: Any, sweep_id: str) -> Sweep | None:
        """The sweep ``sweep_id`` of ``runner``'s store, or None if there is none."""
        record = runner.store.sweep(sweep_id)
        return None if record is None else cls(runner, record)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sweep) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def _state(self) -> list:
        if not self._records or time.monotonic() - self._read > self.FRESH:
            self._records, self._read = self.runner.store.runs_in(self.id), time.monotonic()
            for record in self._records:
                self._runs.setdefault(record.id, Run(self.runner, record.id)).refresh(record)
        return self._records

    # -- reads -------------------------------------------------------------------------------
    @property
    def runs(self) -> list[Run]:
        """Its runs, in the plan's order (``plan.label(i)`` names run ``i``)."""
        return [self._runs[record.id] for record in self._state()]

    @property
    def running(self) -> bool:
        """True while any of its runs trains or waits to."""
        return any(record.status in ACTIVE for record in self._state())

    @property
    def finished(self) -> bool:
        """True once every run has ended (finished, stopped, failed ...)."""
        return not self.running

    def counts(self) -> dict[str, int]:
        """How many of its runs are in each state (``runstate``'s names: queued, running, finished ...)."""
        found: dict[str, int] = {}
        for record in self._state():
            found[record.status] = found.get(record.status, 0) + 1
        return found

    def results(self) -> list[dict | None]:
        """Per run in plan order: None while it trains or waits, else its figures (``val_acc``,
        ``val_cost``, ``test_acc``: None where it has none) and ``status``."""
        return [
            None if r.status in ACTIVE else {**{k: getattr(r, k) for k in FIGURES}, "status": r.status} for r in self._state()
        ]

    def landscape(self) -> sweep.Landscape:
        """The results so far laid out for the charts (``sweep.landscape``)."""
        return sweep.landscape(self.plan, self.results())

    @property
    def best(self) -> Run | None:
        """The run with the highest validation accuracy so far, or None."""
        index = self.landscape().best
        return None if index is None else self.runs[index]

    @property
    def status(self) -> str:
        """Where it is, in words: "2 of 6 runs done; 2 training, 2 waiting for a place"."""
        counts, total = self.counts(), len(self.plan)
        ended = total - sum(counts.get(s, 0) for s in ACTIVE)
        if ended == total:
            done = counts.get("finished", 0)
            if done == total:
                return "Finished: all %s." % words.counted(total, "run")
            return "Ended: %d of %s finished%s." % (done, words.counted(total, "run"), _others(counts))
        training = total - ended - counts.get(QUEUED, 0)
        parts = ["%d of %s done" % (ended, words.counted(total, "run"))]
        if training:
            parts.append("%d training" % training)
        if counts.get(QUEUED):
            parts.append("%d waiting for a place" % counts[QUEUED])
        return parts[0] + ("; " + ", ".join(parts[1:]) if parts[1:] else "") + "."

    # -- requests ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the whole sweep: the runs training stop (their networks kept), the waiting ones are
        cancelled; what finished is kept."""
        # The waiting runs first: a place freed by stopping a training run would otherwise go to
        # the next run of this same sweep, which would start only to be stopped.
        active = [r for r in self._state() if r.status in ACTIVE]
        for record in sorted(active, key=lambda r: r.status != QUEUED):
            self.runner.send(record.id, "stop")
        self._records = []

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every run to end; True if they have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True


def _others(counts: dict[str, int]) -> str:
    said = {"stopped": "stopped", "failed": "failed", "diverged": "diverged", "cancelled": "cancelled before they started"}
    parts = ["%d %s" % (counts[s], w) for s, w in said.items() if counts.get(s)]
    return " (" + ", ".join(parts) + ")" if parts else ""
