"""What the web server's process sets up once, whichever page its first visitor opens.

Every visitor's page script runs in this one process, each in a thread of its own; none of them
should own what the whole process shares. So a thread of the server's own does it:
- NumPy runs single-threaded here. With OpenBLAS's threads, Draw pages that answer strokes at the
  same moment wait for each other's BLAS threads, spinning: one forward pass then costs ten times
  the CPU it costs alone. Training runs have processes and BLAS threads of their own (Dask
  workers: nn_core.runner, nn_core.worker).
- Garbage that only a collection frees (a visitor's session that has ended can leave cycles) is
  collected once a minute, and the C library is then asked to give the freed memory back to the
  system (``malloc_trim``: without it the server's memory never shrinks, whatever it freed).
  Streamlit's own collection after every page run is turned off (.streamlit/config.toml,
  runner.postScriptGC): on every stroke of every visitor it took a third of the server's CPU.
- A page that fails shows no error's insides (.streamlit/config.toml, client.showErrorDetails);
  the general message Streamlit shows instead is put in this app's words (``FAILED``).
"""

import ctypes
import ctypes.util
import gc
import threading
import time

from threadpoolctl import threadpool_limits

COLLECT_EVERY = 60.0  # seconds between two garbage collections
FAILED = (
    "Something went wrong on this page, and what it was is kept in the server's log. Reload the page to "
    "go on: your drawings, runs and models are kept."
)

_lock = threading.Lock()
_ready = threading.Event()
_thread = None


def start():
    """Start the server's housekeeping thread, once per process; returns when NumPy is limited."""
    global _thread
    with _lock:
        if _thread is None:
            _say_failures_in_our_words()
            _thread = threading.Thread(target=_housekeeping, name="digit-studio-housekeeping", daemon=True)
            _thread.start()
    _ready.wait(10)


def _say_failures_in_our_words():
    """Streamlit's general message for a failed page, when details are hidden, speaks of its cloud
    ("click on 'Manage app'"); a student needs to know what to do here. (A private name of
    Streamlit's: if a later version has no such name, its own message stays.)"""
    from streamlit.elements import exception

    if isinstance(getattr(exception, "_GENERIC_UNCAUGHT_EXCEPTION_TEXT", None), str):
        exception._GENERIC_UNCAUGHT_EXCEPTION_TEXT = FAILED


def _housekeeping():
    threadpool_limits(1, user_api="blas")
    _ready.set()
    trim = _malloc_trim()
    while True:
        time.sleep(COLLECT_EVERY)
        gc.collect()
        trim()


def _malloc_trim():
    """glibc's ``malloc_trim(0)``, or a function that does nothing where there is no such call."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return lambda: libc.malloc_trim(0)
    except (OSError, AttributeError):
        return lambda: None
