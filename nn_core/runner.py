"""Training runs on Dask: asked for by anyone, trained by a worker, shown by any process.

A ``Runner`` takes a ``RunSpec`` (settings and a data recipe, no images), checks it against the
server's ceilings, records the run in the run store (``runs.RunStore``) and hands it to Dask
distributed, which starts it on a free worker, first asked first started (each run's task has the
priority of its place in the store). The pages' one door is ``Runner.start``: a ``Run`` handle, or
``Refused`` with the reason in words. The run layer, by concern:

- ``runstate``: a run's states, as one pure function of its events, and the answer to each request;
- ``runtask``: the task on a worker, a training callback that is the run's one author;
- ``runhandle``: ``Run``, what the pages read and the requests they send;
- ``estimate``: the time before Start (a range) and during the run;
- ``runlost``: when a run that has not ended never will; ``runlimits``: the server's limits.

Where the workers are:
- by default (no ``NN_CORE_DASK_ADDRESS``) each server process starts one ``LocalCluster`` (127.0.0.1,
  one worker per core, one thread each) the first time a run is asked for; a laptop needs nothing
  else. When the server stops, a run waiting is cancelled, one training stops (its curves kept);
- ``NN_CORE_DASK_ADDRESS=tcp://host:8786``: a running ``dask scheduler`` with ``dask worker``s,
  on this machine or others; runs then outlive the app server.

Fairness: one run (or sweep, or rate finder) under way per person (``runs.Busy``), first asked first
started, a sweep's later runs behind runs asked for after it (``sweeps``), the time and pause limits
of ``runlimits``; runs train below the web server's priority and share their cores.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from . import cluster, estimate, runlimits, runlost, runspec, runstate
from .estimate import Expected, count_down, duration  # noqa: F401 (the pages' and tests' names for them)
from .refused import Refused, RunnerError, check_drawings, refusals  # noqa: F401 (Refused: the pages' name for it)
from .runhandle import Run
from .runlimits import MAX_MINUTES_ENV, MAX_RUN_MB, blas_threads, cores, max_minutes, max_pause_seconds  # noqa: F401
from .runs import RunStore
from .runspec import RunSpec, check_size, planned_images
from .runtask import train_run
from .training import check_live, estimated_seconds
from .words import minutes

ADDRESS_ENV = "NN_CORE_DASK_ADDRESS"
KEY = "nn-core-run-"  # a run's Dask key, before its id


class Runner:
    """Sends runs to Dask and reads them back (see the module's description). One per server
    process is enough (``shared()``); it may be used from many threads."""

    _shared: Runner | None = None
    _shared_lock = threading.Lock()

    def __init__(self, store: RunStore | None = None, address: str | None = None) -> None:
        self._store = store
        self.address = address if address is not None else (os.environ.get(ADDRESS_ENV) or None)
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()
        self._futures: dict = {}

    @classmethod
    def shared(cls) -> Runner:
        """The process's runner, made on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @property
    def store(self) -> RunStore:
        """The run store: the one given, else the one the environment names now (opened per use)."""
        return self._store if self._store is not None else RunStore()

    @property
    def engine(self) -> str:
        """Where this runner sends runs: its scheduler's address, or its embedded cluster."""
        return runlost.engine(self.address)

    def client(self) -> Any:
        """The Dask client, connected (and the embedded cluster started) on first use."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self):
        try:
            self._client, self._cluster = cluster.connect(self.address)
            return self._client
        except Exception as exc:
            raise RunnerError(
                "could not reach the training cluster%s: %s"
                % (" at %s (%s)" % (self.address, ADDRESS_ENV) if self.address else "", exc)
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None

    # -- asking for runs ----------------------------------------------------------------------
    def check(self, spec: RunSpec) -> tuple[int, float]:
        """Refuse, before anything is recorded, a run with bad settings or above the server's
        ceilings (``ValueError``; ``runlimits.TooLong`` for its time). Returns ``(n_train, estimate)``."""
        config = spec.config
        planned = planned_images(spec)
        config.validate(n_available=planned["base_total"])
        check_size(spec, planned)  # its images and its memory (``runspec.memory_needed``)
        seconds = estimated_seconds(config, planned["trained"])
        if seconds > 60 * max_minutes():
            raise runlimits.TooLong(
                "this run would take about %s on this server, and runs here may take at most %s (%s). "
                "Fewer epochs, a larger mini_batch, fewer training images or smaller layers make it shorter."
                % (duration(seconds), minutes(max_minutes()), MAX_MINUTES_ENV)
            )
        return planned["trained"], seconds

    def submit(self, spec: RunSpec, params: dict | None = None) -> Run:
        """Record the run and send it to the cluster; returns its ``Run``. Raises ``ValueError``
        (see ``check``), ``runs.Busy`` if its owner has a run that has not ended, ``RunnerError``
        if the cluster cannot be reached (the run is then marked failed, with the reason)."""
        n_train, seconds = self.check(spec)
        spec = runspec.with_files_named(spec)
        run_id, seq = self.store.add(
            spec.config,
            spec.label,
            owner=spec.owner,
            data=spec.data.arrays[5] if spec.data.arrays is not None else "",
            started_from=spec.started_from,
            estimate=seconds,
            n_train=n_train,
            engine=self.engine,
            purpose=spec.purpose,
        )
        self.dispatch([(run_id, spec, -seq)], params)
        return Run(self, run_id)

    def dispatch(self, runs: list, params: dict | None = None) -> None:
        """Send recorded runs, ``(id, spec, priority)`` each, to the cluster in one message. Each
        waits with the scheduler until a worker is free (``cluster.SETTINGS``), which then takes the
        highest priority. If the cluster cannot be reached they are marked failed (``RunnerError``)."""
        import dask
        from dask.task_spec import Task
        from distributed import fire_and_forget

        priority = {KEY + run_id: p for run_id, _, p in runs}
        try:
            client = self.client()
            if params is not None:  # megabytes of weights travel beside the task, not inside its description
                (params,) = client.scatter([params], hash=False)  # one future: a dict would be scattered item by item
            limits = (60 * max_minutes(), max_pause_seconds())
            # Marked as producing data, Dask keeps every run in the scheduler's line (a small group of
            # tasks would otherwise be handed to busy workers at once, each worker a line of its own).
            tasks = {
                KEY + run_id: Task(KEY + run_id, train_run, self.store.where, run_id, spec, params, limits, _data_producer=True)
                for run_id, spec, _ in runs
            }
            with dask.annotate(priority=priority.__getitem__):  # each run its own, in one message
                futures = client.get(tasks, list(tasks), sync=False)
        except Exception as exc:
            for run_id, _, _ in runs:
                self.store.fail(run_id, "Not started: %s" % exc)
            raise exc if isinstance(exc, RunnerError) else RunnerError(str(exc)) from exc
        for (run_id, _, _), future in zip(runs, futures):
            fire_and_forget(future)  # the run goes on when this process (and its client) goes away
            with self._lock:
                self._futures[run_id] = future
            future.add_done_callback(self._ended)

    def start(self, spec: RunSpec, params: dict | None = None) -> Run:
        """The pages' one door: ``submit``, with every reason a run is not started turned into
        ``Refused`` (its message says why in words; nothing is left half recorded)."""
        with refusals():
            check_drawings(spec)
            return self.submit(spec, params=params)

    # -- sweeps, the rate finder and the class's runs (see ``sweeps`` and ``sweephandle``) ----------
    def start_sweep(self, plan: Any, spec: RunSpec) -> Any:
        """``plan``'s runs (a ``sweep.SweepPlan``) on ``spec``'s data for its owner, recorded at once
        and sent to the cluster: a ``sweephandle.Sweep``, or ``Refused`` saying why in words."""
        from . import sweeps

        with refusals():
            check_drawings(spec)
            return sweeps.start(self, plan, spec)

    def sweep(self, sweep_id: str) -> Any:
        """A handle on the sweep ``sweep_id`` (``sweephandle.Sweep``), or None if there is none."""
        from .sweephandle import Sweep

        return Sweep.read(self, sweep_id)

    def sweeps_of(self, owner: str | None) -> list:
        """A person's sweeps, oldest first, as ``sweephandle.Sweep``s."""
        from .sweephandle import Sweep

        return [Sweep(self, record) for record in self.store.sweeps_of(owner)]

    def find_rate(self, spec: RunSpec) -> Run:
        """A rate finder on ``spec``'s network and data: a short run whose rate grows each
        mini-batch (``ratefinder``), in the person's one place; ``Run.finder()`` reads its result.
        ``Refused`` in words as ``start``."""
        from . import sweeps

        with refusals():
            check_drawings(spec)
            return self.submit(sweeps.finder_spec(spec))

    def class_runs(self, viewer: str | None, limit: int = 2000) -> tuple[list[dict], int]:
        """Every finished run of this store, anonymous (``RunStore.class_runs``): ``(rows, total)``."""
        return self.store.class_runs(viewer, limit)

    def _ended(self, future: Any) -> None:
        """A run's task ended: if it did not end by itself (its worker died), say so."""
        run_id = future.key[len(KEY) :]
        with self._lock:
            self._futures.pop(run_id, None)
        if future.status == "error":
            self.store.fail(
                run_id,
                "Training stopped: the worker training it went away (%s: it may have run out of memory, "
                "or its machine was shut down). Its curves and its network at the end of its last epoch "
                "are kept; it was not started again." % type(future.exception()).__name__,
            )

    def send(self, run_id: str, kind: str, **body: Any) -> bool:
        """Ask a run for something: ``pause``, ``resume``, ``change`` (``rate=``, ``lamda=``;
        ``ValueError`` for a value out of range) or ``stop``. The run's state answers
        (``runstate.answer``): sent for its process to acknowledge, done at once (a waiting run
        cancelled, or its settings changed), or refused (False)."""
        if kind == "change":
            body = check_live(**body)
        record = self.store.get(run_id)
        answer = runstate.answer(record.status, kind)
        if answer.action == runstate.REFUSE:
            return False
        if answer.action == runstate.NOW and kind == "change":
            for name, value in body.items():
                setattr(record.config, name, value)
            self.store.set_config(run_id, record.config)
            return True
        if answer.action == runstate.NOW and self.cancel(run_id):
            return True
        self.store.command(run_id, kind, body)  # (a waiting run that started meanwhile: its process answers)
        return True

    def cancel(self, run_id: str) -> bool:
        """Cancel a run that waits; True if it did."""
        if not self.store.cancel(run_id, "Cancelled before it started."):
            return False
        if self._client is not None:
            from distributed import Future

            Future(KEY + run_id, self._client).cancel()
        return True

    def events(self, run_id: str, since: int = 0) -> list:
        """What the run reported after event ``since``: ``(id, kind, body)``, oldest first (kinds
        ``started``, ``batch``, ``epoch``, ``change``, ``paused``, ``resumed``, ``ended``); ``Run``
        is the same, rebuilt as an object."""
        return self.store.events(run_id, since)

    def run(self, run_id: str) -> Run:
        return Run(self, run_id)

    def runs_of(self, owner: str | None, purpose: str | None = "train", in_sweeps: bool = False) -> list[Run]:
        """A person's runs, oldest first, as ``Run``s: their ordinary ones unless asked (``RunStore.runs_of``)."""
        return [Run(self, record.id, record) for record in self.store.runs_of(owner, purpose, in_sweeps)]

    def expected_seconds(self, config: Any, n_train: int) -> Expected:
        """How long ``config`` on ``n_train`` images should take from Start to its results here, as
        an ``Expected`` range (see ``estimate``). Raises ``runs.RunsError`` if the store cannot be read. The embedded
        cluster trains on this machine: what else keeps it busy slows a run here too."""
        busy, here = self.store.busy(), self.address is None
        return estimate.expected(
            *(config, n_train, self.store.timings(), busy, self.workers(), cores()),
            cluster_started=self._client is not None or not here,
            drawing=runspec.drawing_seconds(config),
            others=estimate.others_busy(cores(), ours=cores() if busy[0] else 0) if here else 0.0,
        )

    def workers(self) -> int:
        """How many runs can train at once: the cluster's workers (this machine's cores for the
        embedded one, before it has started)."""
        if self._client is not None:
            try:
                return max(1, len(self._client.scheduler_info(n_workers=-1)["workers"]))
            except Exception:  # the scheduler is away: the page's estimate should not fail for that
                pass
        return cores()
