"""What a process that trains runs for the app needs from its operating system (see ``runner``).

The page scripts that answer every stroke on the Draw page run in the web server's process. A run
training beside them would share both cores with them, and a stroke would wait for the training's
arithmetic. So runs train in processes of their own (Dask workers), every thread of them, BLAS
threads too, at a lower CPU priority (``NICENESS``), with as many BLAS threads as the cores they
may use, and each run under a ceiling of its own address space (``limit_memory``): a run whose
estimate was wrong fails with a message in words instead of taking the machine's memory from the
server and the other runs.
"""

import multiprocessing.spawn
import os
import resource
import sys
import threading
from typing import Any

from threadpoolctl import threadpool_info, threadpool_limits

NICENESS = 10  # the operating system runs the page scripts first when both want a core
_patched = threading.Lock()
_limits = threading.Lock()
_held: dict[str, Any] = {"runs": 0, "base": 0, "previous": None}  # runs under the ceiling in this process, and what to restore


def out_of_memory(megabytes: float) -> str:
    """What a person is told when a run reached its ceiling (``limit_memory``)."""
    return (
        "Stopped: this run needed more memory than one run may use here (%.1f GB). Smaller layers, a smaller "
        "mini_batch or fewer training images need less." % (megabytes / 1024)
    )


def address_space() -> int | None:
    """This process's virtual address space now (``VmSize``), in bytes; None where /proc is not."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def limit_memory(megabytes: float) -> int | None:
    """Hold this process to the address space it has now plus ``megabytes`` for each run training
    in it (``RLIMIT_AS``): beyond it an allocation fails with ``MemoryError`` in the run that asked,
    and the worker, the server and the other runs go on. The address space, not the resident
    memory, is what the system can limit; what a process has before a run (the interpreter, NumPy,
    Dask, thread stacks and BLAS buffers reserved but mostly unused: 370 MB for a Dask worker) is
    measured here rather than assumed, and a run's arrays are in it as soon as they are made.
    Returns a token for ``lift_memory_limit``, or None where the system does not allow it."""
    with _limits:
        try:
            if _held["runs"] == 0:
                _system_allocator_for_arrow()
                _reserve_blas_buffers()
                base = address_space()
                if base is None:
                    return None
                _held.update(base=base, previous=resource.getrlimit(resource.RLIMIT_AS))
            soft, hard = _held["previous"]
            ceiling = int(_held["base"] + (_held["runs"] + 1) * megabytes * 2**20)
            if soft != resource.RLIM_INFINITY:
                ceiling = min(ceiling, soft)
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
        except (OSError, ValueError):  # not allowed here: the run's estimate is then its only ceiling
            return None
        _held["runs"] += 1
        return ceiling


def _system_allocator_for_arrow() -> None:
    """pandas reads text through Arrow, whose own allocator reserves 1 GB of address space at its
    first use (of which reading a 98 MB CSV used 17 MB): under a ceiling of address space, that
    reservation alone would fail a run. Arrow then uses the system's allocator."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")  # read when Arrow is loaded
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:  # loaded already: told directly
        arrow.set_memory_pool(arrow.system_memory_pool())


def _reserve_blas_buffers() -> None:
    """OpenBLAS reserves its work buffers (37 MB here) at its first multiplication, and ends the
    whole process, not with an exception, when it cannot: so they are reserved before the ceiling
    is set. Once per process, before its first run is told how many threads to use: OpenBLAS then
    has all it starts with, and the buffers stay reserved. (Not through ``threadpool_limits``:
    setting BLAS's threads costs a run alone a tenth of its speed, see ``runner``.)"""
    if _held.get("blas"):
        return
    import numpy as np

    for dtype in (np.float32, np.float64):
        square = np.ones((512, 512), dtype)
        square @ square
    _held["blas"] = True


def lift_memory_limit(token: int | None) -> None:
    """Give back what ``limit_memory`` took (its ``token``; None does nothing), so that the worker
    is free again between runs. Lifting a limit that is already lifted does nothing."""
    if token is None:
        return
    with _limits:
        if _held["runs"] == 0:
            return
        _held["runs"] -= 1
        soft, hard = _held["previous"]
        try:
            if _held["runs"] == 0:
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        except (OSError, ValueError):
            pass


def lower_priority():
    """Run every thread of this process at ``NICENESS``. ``os.nice`` would lower the calling thread
    only (on Linux a thread's priority is its own), and OpenBLAS starts its threads when NumPy is
    imported, before this process was told anything: they would train at the server's priority."""
    tasks = os.listdir("/proc/self/task") if os.path.isdir("/proc/self/task") else [str(os.getpid())]
    for tid in tasks:
        try:
            os.setpriority(os.PRIO_PROCESS, int(tid), max(NICENESS, os.getpriority(os.PRIO_PROCESS, int(tid))))
        except OSError:  # a thread that has ended, or no permission: it keeps its priority
            pass


def use_threads(threads):
    """Have NumPy's BLAS use ``threads`` threads from now on (new ones at ``NICENESS`` too)."""
    threadpool_limits(threads, user_api="blas")
    lower_priority()


def threads_in_use():
    """The BLAS threads NumPy uses in this process."""
    return max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)


def keep_main_out_of_children():
    """Processes started by "spawn" from here (Dask's workers, the upload checker) do not import
    this process's ``__main__``. A new process started by "spawn" first runs the parent's
    ``__main__`` from its file, and in a web server Streamlit's ``__main__`` is the page script
    last run: every worker would run a page (and import Streamlit and all it needs) before it
    trained, at whatever moment it is (re)started. Everything our processes run is importable from
    nn_core, so the main module is left out of what a new process is told to prepare. Idempotent."""
    with _patched:
        prepare = multiprocessing.spawn.get_preparation_data
        if getattr(prepare, "keeps_main_out", False):
            return

        def get_preparation_data(name):
            data = prepare(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        get_preparation_data.keeps_main_out = True
        multiprocessing.spawn.get_preparation_data = get_preparation_data
