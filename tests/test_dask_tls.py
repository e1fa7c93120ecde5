"""A class's scheduler across machines with Dask's TLS, as docs/class.md shows it: one certificate
made with openssl, `dask scheduler` and `dask worker` with --tls-* flags, and the app's side given
the same certificate through Dask's configuration (the app's Client takes its security from it).
A client without the certificate is not let in."""

import shutil
import time

import dask
import pytest
from distributed import Client

from conftest import dask_scheduler, self_signed_certificate

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")]


def test_a_scheduler_behind_tls_trains_for_clients_that_hold_the_certificate(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    with dask_scheduler(tmp_path, certificate=(cert, key)) as address:
        assert address.startswith("tls://")
        settings = {
            "distributed.comm.tls.ca-file": cert,
            "distributed.comm.tls.client.cert": cert,
            "distributed.comm.tls.client.key": key,
            "distributed.comm.require-encryption": True,
        }
        with dask.config.set(settings):
            deadline = time.time() + 60
            while True:
                try:
                    client = Client(address, timeout="5s", set_as_default=False)  # as nn_core.runner makes it
                    break
                except OSError:
                    assert time.time() < deadline, "the TLS scheduler did not answer; see %s" % (tmp_path / "dask.log")
                    time.sleep(1)
            with client:
                client.wait_for_workers(1, timeout=60)
                from nn_core.network import dense_layers

                assert client.submit(dense_layers, [8]).result(timeout=60)["Dim"] == [784, 8, 10]  # nn_core ran there
        with pytest.raises((OSError, TypeError, ValueError)):  # without the certificate: refused
            Client(address, timeout="3s", set_as_default=False).close()
