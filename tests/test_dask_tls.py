"""A class's scheduler across machines with Dask's TLS, as docs/class.md shows it: one certificate
made with openssl, `dask scheduler` and `dask worker` with --tls-* flags, and the app's side given
the same certificate through Dask's configuration (the app's Client takes its security from it).
A client without the certificate is not let in."""

import os
import shutil
import subprocess
import sys
import time

import dask
import pytest
from distributed import Client

from conftest import ROOT, free_port, stop

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")]


def certificate(folder):
    """A self-signed certificate and key, as the documentation makes them; it is its own authority."""
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
            "/CN=nn-core-class",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    return str(folder / "cert.pem"), str(folder / "key.pem")


def test_a_scheduler_behind_tls_trains_for_clients_that_hold_the_certificate(tmp_path):
    cert, key = certificate(tmp_path)
    tls = ["--tls-ca-file", cert, "--tls-cert", cert, "--tls-key", key]
    address = "tls://127.0.0.1:%d" % free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), DASK_CONFIG=str(ROOT / "docs" / "dask"))
    log = open(tmp_path / "dask.log", "w")
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                "--protocol",
                "tls",
                "--no-dashboard",
                *tls,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ]
    processes.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-dashboard",
                *tls,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    try:
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
                    assert time.time() < deadline, "the TLS scheduler did not answer; see %s" % log.name
                    time.sleep(1)
            with client:
                client.wait_for_workers(1, timeout=60)
                from nn_core.network import dense_layers

                assert client.submit(dense_layers, [8]).result(timeout=60)["Dim"] == [784, 8, 10]  # code of nn_core ran there
        with pytest.raises((OSError, TypeError, ValueError)):  # without the certificate: refused
            Client(address, timeout="3s", set_as_default=False).close()
    finally:
        for process in processes[::-1]:
            stop(process)
