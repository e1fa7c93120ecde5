"""A class's database server that goes away costs a page seconds, not half a minute: a server found
unreachable is taken as down for a few seconds (reads fail at once, a click to keep something tries
once, refused at once by a stopped server), and the Draw page answers a drawing meanwhile."""

import time

import psycopg
import pytest

from conftest import free_port
from headless import draw_page_with_an_upload, texts
from nn_core import database
from nn_core.drawings import DrawingsError, DrawingStore

pytestmark = pytest.mark.slow


@pytest.fixture
def nowhere(monkeypatch):
    """A PostgreSQL URL on 127.0.0.1 where nothing listens, for every store; pools and the memory
    of servers found down are this test's own."""
    url = "postgresql://postgres@127.0.0.1:%d/postgres" % free_port()
    monkeypatch.setenv(database.ENV_VAR, url)
    monkeypatch.setattr(database, "CONNECT_SECONDS", 1.0)
    database.close_pools()
    yield url
    database.close_pools()


def counting(monkeypatch):
    """Count the attempts to reach a server: pools asked for a connection, and direct probes."""
    tries = {"pool": 0, "probe": 0}
    pool, connect = database._pool, psycopg.connect

    def counted_pool(url):
        tries["pool"] += 1
        return pool(url)

    def counted_connect(*args, **kwargs):
        tries["probe"] += 1
        return connect(*args, **kwargs)

    monkeypatch.setattr(database, "_pool", counted_pool)
    monkeypatch.setattr(psycopg, "connect", counted_connect)
    return tries


def test_a_server_found_down_is_not_waited_for_again_until_it_may_be_back(nowhere, monkeypatch):
    store = DrawingStore(nowhere)
    with pytest.raises(DrawingsError, match="cannot be reached"):
        store.count()  # the first read finds it down (after the pool's short wait)
    tries = counting(monkeypatch)
    for _ in range(20):  # a page run's reads meanwhile: each refused at once, none waits
        with pytest.raises(DrawingsError, match="cannot be reached.*Nothing was changed"):
            store.count()
    assert tries == {"pool": 0, "probe": 0}
    monkeypatch.setattr(database, "DOWN_SECONDS", 0.2)
    with pytest.raises(DrawingsError, match="cannot be reached"):
        store.add("someone", 3, [[0] * 28] * 28)  # a click to keep something tries, once, directly
    assert tries == {"pool": 0, "probe": 1}
    with pytest.raises(DrawingsError):
        store.count()  # taken as down for 0.2 s from that try
    assert tries == {"pool": 0, "probe": 1}
    time.sleep(0.3)
    with pytest.raises(DrawingsError, match="cannot be reached"):
        store.count()  # after the pause, one read tries again
    assert tries == {"pool": 0, "probe": 2}


def test_the_draw_page_answers_while_the_database_is_down(nowhere, monkeypatch, shipped_weights):
    at = draw_page_with_an_upload()  # the first page run finds the server down
    tries = counting(monkeypatch)
    for _ in range(5):  # strokes: the answer comes from the network, the page waits on no database
        at.run()
        assert not at.exception
        assert [m.value for m in at.metric if m.label == "Prediction"] == ["1"]  # the network's answer
    assert tries["pool"] == 0 and tries["probe"] <= 1
    assert "Only the models of this server's weights folder are offered" in texts(at.warning)
    assert at.selectbox[0].options == ["default"]
