"""The visitor cookie over HTTPS (a class behind its proxy, or Streamlit serving TLS itself) is
marked Secure, so a browser never sends it over plain HTTP; over HTTP (a laptop) it still works."""

import shutil

import pytest

from conftest import running_app, self_signed_certificate
from pages._people import VISITOR_COOKIE

pytestmark = [pytest.mark.browser, pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")]


@pytest.mark.parametrize("tls", [True, False])
def test_the_visitor_cookie_is_secure_over_https(browser, tmp_path, tls):
    with running_app(tmp_path, certificate=self_signed_certificate(tmp_path) if tls else None) as url:
        context = browser.new_context(ignore_https_errors=True)  # (its certificate is made here)
        page = context.new_page()
        page.goto(url, timeout=60_000)
        page.wait_for_function("name => document.cookie.includes(name + '=')", arg=VISITOR_COOKIE, timeout=60_000)
        cookies = [c for c in context.cookies() if c["name"] == VISITOR_COOKIE]
        assert len(cookies) == 1 and cookies[0]["secure"] is tls and cookies[0]["sameSite"] == "Strict", cookies
        context.close()
