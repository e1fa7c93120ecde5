"""What a process that trains runs for the app needs from its operating system (see ``runner``).

The page scripts that answer every stroke on the Draw page run in the web server's process. A run
training beside them would share both cores with them, and a stroke would wait for the training's
arithmetic. So runs train in processes of their own (Dask workers), every thread of them, BLAS
threads too, at a lower CPU priority (``NICENESS``), with as many BLAS threads as the cores they
may use.
"""

import multiprocessing.spawn
import os
import threading

from threadpoolctl import threadpool_info, threadpool_limits

NICENESS = 10  # the operating system runs the page scripts first when both want a core
_patched = threading.Lock()


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
