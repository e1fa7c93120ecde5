"""The visitor cookie over HTTPS (a class behind its proxy, or Streamlit serving TLS itself) is
marked Secure, so a browser never sends it over plain HTTP; over HTTP (a laptop) it still works."""

import shutil
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, stop
from nn_core import drawings
from pages._people import VISITOR_COOKIE

pytestmark = pytest.mark.browser


def serve(folder, tls):
    """``streamlit run app.py`` on 127.0.0.1, over HTTPS with a certificate made here if ``tls``."""
    env = {"NN_CORE_WEIGHTS_DIR": str(ROOT / "weights"), drawings.ENV_VAR: str(folder / "drawings.sqlite")}
    if tls:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                str(folder / "key.pem"),
                "-out",
                str(folder / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )
        env.update(STREAMLIT_SERVER_SSL_CERT_FILE=str(folder / "cert.pem"), STREAMLIT_SERVER_SSL_KEY_FILE=str(folder / "key.pem"))
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        stdout=open(folder / "streamlit.log", "w"),
        stderr=subprocess.STDOUT,
    )
    url = "%s://127.0.0.1:%d" % ("https" if tls else "http", port)
    unverified = ssl._create_unverified_context()
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2, context=unverified if tls else None) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop(proc)
            pytest.fail("streamlit did not start; see %s" % (folder / "streamlit.log"))
        time.sleep(0.5)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
@pytest.mark.parametrize("tls", [True, False])
def test_the_visitor_cookie_is_secure_over_https(tmp_path, tls):
    from playwright.sync_api import sync_playwright

    proc, url = serve(tmp_path, tls)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.goto(url, timeout=60_000)
            page.wait_for_function("name => document.cookie.includes(name + '=')", arg=VISITOR_COOKIE, timeout=60_000)
            cookies = [c for c in context.cookies() if c["name"] == VISITOR_COOKIE]
            assert len(cookies) == 1 and cookies[0]["secure"] is tls and cookies[0]["sameSite"] == "Strict", cookies
            browser.close()
    finally:
        stop(proc)
