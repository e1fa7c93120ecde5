"""Shared fixtures. MNIST is read from ``NN_CORE_DATA_DIR`` (``.ci/run`` sets it); tests that need
it fail with the loader's message when it is missing rather than passing silently."""

import contextlib
import gzip
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

import pgserver
from nn_core import data, database, drawings, pendigits
from nn_core.data import MNIST_FILES
from nn_core.storage import WEIGHTS_DIR, load_model

ROOT = Path(__file__).resolve().parent.parent


# What makes a test slow wherever it is (seconds each): a PostgreSQL server or a Dask cluster of its
# own, or runs trained on the embedded cluster (test_runner.py's ``runner`` fixtures). Such tests
# are marked ``slow`` here, so that the quick check (``-m "not browser and not slow"``) leaves them
# out; other slow tests carry the marker themselves.
SLOW_FIXTURES = {"postgres_server", "own_postgres", "pg_url", "scheduler", "runner", "any_runner"}


def pytest_collection_modifyitems(items):
    for item in items:
        params = getattr(item, "callspec", None)
        on_postgres = params is not None and any(isinstance(v, str) and v == "postgres" for v in params.params.values())
        if on_postgres or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="session")
def pen_digits():
    """The pen-drawn digits of the data folder (``NN_CORE_DATA_DIR``)."""
    return pendigits.load_pendigits()


@pytest.fixture(scope="session")
def shipped_model():
    return load_model(WEIGHTS_DIR / "default.npz")


@pytest.fixture(autouse=True)
def drawings_db(tmp_path, monkeypatch):
    """A private drawings database for every test (the app's is never touched), and SQLite unless
    a test asks for PostgreSQL."""
    path = tmp_path / "drawings.sqlite"
    monkeypatch.setenv(drawings.ENV_VAR, str(path))
    monkeypatch.delenv(database.ENV_VAR, raising=False)
    return path


# PostgreSQL: ``NN_CORE_TEST_POSTGRES_URL`` names a server to use (``.ci/run`` starts one); else the
# tests start their own from Debian's binaries. Without either they are skipped, unless
# ``NN_CORE_REQUIRE_POSTGRES=1`` (CI), where a missing server fails them.
POSTGRES_ENV = "NN_CORE_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server for the tests (a superuser on 127.0.0.1)."""
    if os.environ.get(POSTGRES_ENV):
        yield os.environ[POSTGRES_ENV]
        return
    if pgserver.binaries() is None:
        if os.environ.get("NN_CORE_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required here and not installed (apt-get install -y postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql), and %s is not set" % POSTGRES_ENV)
    server = pgserver.PostgresServer().init().start()
    try:
        yield server.url
    finally:
        database.close_pools()
        server.remove()


def fresh_schema(server_url):
    """A URL of ``server_url`` whose tables go to a new, empty schema (one per test)."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA %s" % schema)
    return server_url + ("&" if "?" in server_url else "?") + "options=-csearch_path%3D" + schema


@pytest.fixture
def pg_url(postgres_server):
    """A PostgreSQL URL with an empty schema of its own."""
    url = fresh_schema(postgres_server)
    yield url
    database.close_pools()


@pytest.fixture
def own_postgres(postgres_server):
    """A PostgreSQL server of the test's own, to stop and start (``pgserver.PostgresServer``)."""
    server = pgserver.PostgresServer().init().start()  # not in tmp_path: the postgres user cannot enter it
    yield server
    database.close_pools()
    server.remove()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """Where a store is: a SQLite file, or a PostgreSQL database (each test runs on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    """A private weights folder, so tests never touch the project's own models."""
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("NN_CORE_WEIGHTS_DIR", str(folder))
    return folder


SHIPPED = ("default.npz", "default.json")  # the model the app ships, and its description


def copy_shipped_weights(folder):
    """Put a copy of the shipped model in ``folder`` (a test's own weights folder)."""
    for name in SHIPPED:
        shutil.copy(ROOT / "weights" / name, folder)
    return folder


@pytest.fixture
def shipped_weights(weights_dir):
    """A private weights folder (``weights_dir``) holding a copy of the shipped model."""
    return copy_shipped_weights(weights_dir)


def at_once(work, n):
    """``work(k)`` for k in 0..n-1, each in a thread of its own, all let go at the same moment
    (many tabs or servers at once); returns what each returned, or the exception it raised."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(k):
        barrier.wait()
        try:
            results[k] = work(k)
        except Exception as exc:
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def blobs(n=300, seed=0):
    """A small, linearly separable 3-class problem in 4 dimensions (rows, labels)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[2, 0, 0, 1], [0, 2, 0, -1], [0, 0, 2, 0]], dtype=np.float32)
    y = rng.integers(0, 3, n)
    X = centres[y] + 0.3 * rng.standard_normal((n, 4)).astype(np.float32)
    return X.astype(np.float32), y


# -- real-browser fixtures: the app started with `streamlit run app.py` on a free port of
# 127.0.0.1, and Debian's Chromium driven by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"
SERVERS = {}  # URL -> the streamlit process serving it


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url():
    """An address on 127.0.0.1 where nothing listens: a download from it fails at once."""
    return "http://127.0.0.1:%d/" % free_port()


@contextlib.contextmanager
def streamlit_server(folder, script="app.py", env=None, certificate=None):
    """``streamlit run script`` on a free port of 127.0.0.1 with ``env`` added to the environment
    (its log in ``folder``), over HTTPS when given a ``(cert, key)`` pair; yields its URL once
    ``/_stcore/health`` answers, and stops it afterwards."""
    import ssl

    env = dict(env or {})
    if certificate is not None:
        env.update(STREAMLIT_SERVER_SSL_CERT_FILE=str(certificate[0]), STREAMLIT_SERVER_SSL_KEY_FILE=str(certificate[1]))
    port = free_port()
    log = open(folder / "streamlit.log", "w")
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = "%s://127.0.0.1:%d" % ("http" if certificate is None else "https", port)
    unverified = None if certificate is None else ssl._create_unverified_context()  # (its certificate is made here)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2, context=unverified) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("streamlit did not start; see %s" % log.name)
            time.sleep(0.5)
        SERVERS[url] = proc
        yield url
    finally:
        stop(proc)


@contextlib.contextmanager
def running_app(folder, certificate=None, **env):
    """The app (``streamlit_server``) serving a copy of the shipped weights (so tests never add
    models to weights/) and a drawings database of its own in ``folder``; yields its URL."""
    weights = folder / "weights"
    weights.mkdir(exist_ok=True)
    copy_shipped_weights(weights)
    env = {"NN_CORE_WEIGHTS_DIR": str(weights), drawings.ENV_VAR: str(folder / "drawings.sqlite"), **env}
    with streamlit_server(folder, env=env, certificate=certificate) as url:
        yield url


def self_signed_certificate(folder):
    """A certificate and its key made with openssl (``(cert, key)`` paths): its own authority, as
    docs/class.md makes one for a class."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=digit-studio",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)  # fmt: skip
    return str(cert), str(key)


def stop(process, seconds=20):
    """End a process of a test: asked first, killed if it has not ended within ``seconds``."""
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def dask_scheduler(folder, workers=1, certificate=None):
    """A ``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1, as a class
    runs them (the workers find nn_core on their PYTHONPATH; docs/dask's settings: a run that
    fails is not retried, no profiler, no nanny environment), behind Dask's TLS when given a
    ``(cert, key)`` pair (as docs/class.md shows); yields the scheduler's address."""
    port = free_port()
    protocol, tls = "tcp", []
    if certificate is not None:
        protocol, tls = "tls", ["--tls-ca-file", certificate[0], "--tls-cert", certificate[0], "--tls-key", certificate[1]]
    address = "%s://127.0.0.1:%d" % (protocol, port)
    env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_CONFIG=str(ROOT / "docs" / "dask"))  # the settings docs/class.md gives
    log = open(folder / "dask.log", "w")
    # `dask scheduler` and `dask worker`, from this interpreter (its scripts' folder need not be on PATH)
    scheduler = ["-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--protocol", protocol]
    worker = ["-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", str(workers)]
    processes = [
        subprocess.Popen([sys.executable, *command, "--no-dashboard", *tls], env=env, stdout=log, stderr=subprocess.STDOUT)
        for command in (scheduler, worker)
    ]
    try:
        yield address
    finally:
        for process in processes[::-1]:
            stop(process)


@pytest.fixture
def scheduler(tmp_path):
    with dask_scheduler(tmp_path) as address:
        yield address


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("browser tests need Debian's Chromium at %s: apt-get install -y chromium" % CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_app(browser, url, timeout=30_000):
    """A new browser context (a new person) with the app's first page open; ``(context, page)``."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout)
    page.goto(url)
    page.locator("canvas").last.wait_for()
    return context, page


@pytest.fixture
def page(browser, app_url):
    context, page = open_app(browser, app_url)
    yield page
    context.close()


# -- a local MNIST mirror on 127.0.0.1, for download tests
MNIST_SOURCE = data.data_dir()  # where the real files are, whatever a test sets later


def source_bytes(name):
    return data.find_file(MNIST_SOURCE, name).read_bytes()


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """/good/X.gz: the real file; /corrupt/X.gz: one byte changed inside; /truncated/X.gz: half
    of it (with an honest length); /short/X.gz: a Content-Length the body never reaches."""

    requests = []

    def do_GET(self):
        MirrorHandler.requests.append(self.path)
        kind, _, name = self.path.strip("/").partition("/")
        base = name[:-3] if name.endswith(".gz") else name
        if base not in MNIST_FILES or kind not in ("good", "corrupt", "truncated", "short"):
            self.send_error(404)
            return
        body = source_bytes(base)
        if kind == "corrupt":
            raw = bytearray(gzip.decompress(body))
            raw[-1] ^= 0xFF
            body = gzip.compress(bytes(raw))
        if kind == "truncated":
            body = body[: len(body) // 2]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) * (2 if kind == "short" else 1)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def mnist_mirror():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % httpd.server_address[1]
    httpd.shutdown()
