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

Fairness: one run under way per person (``runs.Busy``), first asked first started, the time and
pause limits of ``runlimits``; runs train below the web server's priority and share their cores.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Any

from . import drawings, estimate, runlimits, runlost, runspec, runstate, worker
from .estimate import Expected, count_down, duration  # noqa: F401 (the pages' and tests' names for them)
from .runhandle import Run
from .runlimits import MAX_MINUTES_ENV, MAX_RUN_MB, blas_threads, cores, max_minutes, max_pause_seconds  # noqa: F401
from .runs import RunStore
from .runspec import RunSpec, check_size, planned_images
from .runtask import train_run
from .training import check_live, estimated_seconds

ADDRESS_ENV = "NN_CORE_DASK_ADDRESS"
KEY = "nn-core-run-"  # a run's Dask key, before its id


class RunnerError(RuntimeError):
    """The training cluster could not be reached or used; the message says so in words."""


class Refused(Exception):
    """A run not started (``Runner.start``), with the reason in words, ready to show as it is;
    ``busy`` when it is because the person has a run going already."""

    def __init__(self, message: str, busy: bool = False):
        super().__init__(message)
        self.busy = busy


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
        import dask
        from distributed import Client, LocalCluster

        try:
            if self.address:
                return Client(self.address, timeout="10s", set_as_default=False)
            worker.keep_main_out_of_children()
            with dask.config.set(
                {
                    # A run that fails, fails once, with its reason: it is not tried again on another worker.
                    "distributed.scheduler.allowed-failures": 0,
                    # The nanny's MALLOC_TRIM_THRESHOLD_ made epochs 2-3x slower than in a plain process,
                    # and its one-BLAS-thread settings would hold a run alone to one core.
                    "distributed.nanny.pre-spawn-environ": {},
                    # The workers' statistical profiler takes the interpreter from the training 100 times a second.
                    "distributed.worker.profile.enabled": False,
                }
            ):
                # No dashboard; the scheduler's small HTTP server (health checks) takes any free port of
                # 127.0.0.1, so that two servers on one machine do not fight over 8787.
                self._cluster = LocalCluster(
                    n_workers=cores(),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                    silence_logs=logging.ERROR,
                )
            return Client(self._cluster, set_as_default=False)
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
                "this run would take about %s on this server, and runs here may take at most %g minutes (%s). "
                "Fewer epochs, a larger mini_batch, fewer training images or smaller layers make it shorter."
                % (duration(seconds), max_minutes(), MAX_MINUTES_ENV)
            )
        return planned["trained"], seconds

    def submit(self, spec: RunSpec, params: dict | None = None) -> Run:
        """Record the run and send it to the cluster; returns its ``Run``. Raises ``ValueError``
        (see ``check``), ``runs.Busy`` if its owner has a run that has not ended, ``RunnerError``
        if the cluster cannot be reached (the run is then marked failed, with the reason)."""
        from distributed import fire_and_forget

        n_train, seconds = self.check(spec)
        if spec.data.drawings_of is not None and spec.data.drawings_db is None:
            # The files a run reads are named where it is asked for: a worker's environment is the
            # one it was started with, and may be another machine's.
            spec = dataclasses.replace(spec, data=dataclasses.replace(spec.data, drawings_db=str(drawings.database_path())))
        source = spec.data.arrays[5] if spec.data.arrays is not None else ""
        run_id, seq = self.store.add(
            spec.config,
            spec.label,
            owner=spec.owner,
            data=source,
            started_from=spec.started_from,
            estimate=seconds,
            n_train=n_train,
            engine=self.engine,
        )
        try:
            client = self.client()
            limits = (60 * max_minutes(), max_pause_seconds())
            if params is not None:  # megabytes of weights travel beside the task, not inside its description
                params = client.scatter(params, hash=False)
            future = client.submit(
                train_run, self.store.where, run_id, spec, params, limits, key=KEY + run_id, pure=False, priority=-seq, retries=0
            )
        except Exception as exc:
            self.store.fail(run_id, "Not started: %s" % exc)
            raise exc if isinstance(exc, RunnerError) else RunnerError(str(exc)) from exc
        fire_and_forget(future)  # the run goes on when this process (and its client) goes away
        with self._lock:
            self._futures[run_id] = future
        future.add_done_callback(self._ended)
        return Run(self, run_id)

    def start(self, spec: RunSpec, params: dict | None = None) -> Run:
        """The pages' one door: ``submit``, with every reason a run is not started turned into
        ``Refused`` (its message says why in words; nothing is left half recorded)."""
        from .data import DataError
        from .drawings import DrawingsError
        from .runs import Busy, RunsError

        try:
            if spec.data.drawings_of is not None and runspec.kept_drawings_count(spec.data) == 0:
                raise Refused(
                    "Not started: there are no kept drawings to train on yet. Correct a few drawings first, "
                    "or train without them."
                )
            return self.submit(spec, params=params)
        except Busy as exc:
            raise Refused("Not started: %s." % exc, busy=True) from exc
        except (ValueError, DataError) as exc:
            raise Refused("Cannot train with these settings: %s" % exc) from exc
        except (RunnerError, RunsError, DrawingsError, OSError) as exc:
            raise Refused("Not started: %s" % exc) from exc

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

    def runs_of(self, owner: str | None) -> list[Run]:
        """A person's runs, oldest first, as ``Run``s."""
        return [Run(self, record.id, record) for record in self.store.runs_of(owner)]

    def expected_seconds(self, config: Any, n_train: int) -> Expected:
        """How long ``config`` on ``n_train`` images should take from Start to its results here, as
        an ``Expected`` range (see ``estimate``). Raises ``runs.RunsError`` if the store cannot be read."""
        return estimate.expected(
            config,
            n_train,
            self.store.timings(),
            self.store.busy(),
            self.workers(),
            cores(),
            cluster_started=self._client is not None or self.address is not None,
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
