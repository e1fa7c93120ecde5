"""A throwaway PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a new cluster in
a temporary folder, listening on 127.0.0.1 only (and a socket in that folder), stopped and removed
afterwards. ``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres``
user. ``python tests/pgserver.py FOLDER`` starts one and prints its URL (for ``.ci/run``)."""

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def binaries():
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them out of PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, folder=None, port=None, durable=False):
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install -y postgresql)")
        self.folder = Path(folder or tempfile.mkdtemp(prefix="nn-core-pg-"))
        self.data = self.folder / "data"
        self.port = port or _free_port()
        self.url = "postgresql://postgres@127.0.0.1:%d/postgres" % self.port
        self._as_postgres = os.geteuid() == 0
        self.durable = durable  # False: no waiting for the disk (tests); True: as a real server (benches)

    def _cmd(self, *args, check=True):
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--"] + command
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._cmd("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nmax_connections = 300\n"
                % (self.port, self.folder)
            )
            if not self.durable:
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        return self

    def start(self):
        self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-t", "60", "start")
        return self

    def stop(self, mode="fast"):
        self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def wait_until_up(url, seconds=30):
    import psycopg

    deadline = time.time() + seconds
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    server = PostgresServer(sys.argv[1] if len(sys.argv) > 1 else None).init().start()
    print(server.url)
