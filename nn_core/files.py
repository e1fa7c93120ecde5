"""Writing files so that a crash, a full disk or a failed check never leaves half a file."""

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

LOCK_NAME = ".lock"  # the file in a folder that ``folder_lock`` locks


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``folder``'s lock for the ``with`` block: one writer of the folder at a time, across
    threads and processes (an exclusive ``flock`` on a file of its own in it), so that a check made
    before writing (a person's count of models) still holds when the write is made, as a
    database's transaction does."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # each open() is its own description: threads exclude each other too
        yield
    finally:
        os.close(fd)  # (closing lets the lock go)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any], replace: bool = True) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    If ``write`` raises, or the disk fills up, the temporary file is removed and whatever was at
    ``path`` before is left untouched. With ``replace=False`` an existing ``path`` is never
    replaced, even by a writer racing this one: ``FileExistsError`` is raised instead.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; these are ordinary files
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path exists, atomically
            os.unlink(tmp)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise OSError(exc.errno, "not enough disk space to write %s; nothing was changed" % path) from exc
        raise
