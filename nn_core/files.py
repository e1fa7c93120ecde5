"""Writing files so that a crash, a full disk or a failed check never leaves half a file."""

import errno
import os
import tempfile
from pathlib import Path


def atomic_write(path, write, replace=True):
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
