"""The Dask cluster a ``runner.Runner`` sends runs to: a running scheduler's, or one started here.

- by default (no address) one ``LocalCluster`` per server process (127.0.0.1, one worker per core,
  one thread each), started the first time a run is asked for;
- with an address (``NN_CORE_DASK_ADDRESS``), a running ``dask scheduler`` with its ``dask
  worker``s; they take ``docs/dask/nn-core.yaml``'s settings, the same as below.
"""

from __future__ import annotations

import logging
from typing import Any

from .runlimits import cores

SETTINGS = {
    # A run that fails, fails once, with its reason: it is not tried again on another worker.
    "distributed.scheduler.allowed-failures": 0,
    # A worker takes a run only when it has a free thread: the runs waiting stay with the scheduler,
    # which gives the next free place to the run with the highest priority (a sweep's later runs
    # wait behind runs people asked for after it; see ``sweeps``). At Dask's default (1.1) a
    # one-thread worker holds a second run in its own line, out of the scheduler's order.
    "distributed.scheduler.worker-saturation": 1.0,
    # The nanny's MALLOC_TRIM_THRESHOLD_ made epochs 2-3x slower than in a plain process,
    # and its one-BLAS-thread settings would hold a run alone to one core.
    "distributed.nanny.pre-spawn-environ": {},
    # The workers' statistical profiler takes the interpreter from the training 100 times a second.
    "distributed.worker.profile.enabled": False,
}


def connect(address: str | None) -> tuple[Any, Any]:
    """``(client, cluster)``: a client of the scheduler at ``address`` (cluster None), or of a
    ``LocalCluster`` started here."""
    import dask
    from distributed import Client, LocalCluster

    from . import worker

    if address:
        return Client(address, timeout="10s", set_as_default=False), None
    worker.keep_main_out_of_children()
    with dask.config.set(SETTINGS):
        # No dashboard; the scheduler's small HTTP server (health checks) takes any free port of
        # 127.0.0.1, so that two servers on one machine do not fight over 8787.
        cluster = LocalCluster(
            n_workers=cores(),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
    return Client(cluster, set_as_default=False), cluster
