"""The drawings database: what is kept, many writers at once, damaged and locked files, a full disk,
imports and exports, and fine-tuning on kept drawings (the shipped model learns a style it misread)."""

import io
import sqlite3
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import at_once
from nn_core import cli, data, database, drawings
from nn_core.data import DataError
from nn_core.drawings import MIGRATIONS, DrawingsError, DrawingStore
from nn_core.metrics import evaluate
from nn_core.preprocess import to_mnist
from nn_core.storage import WEIGHTS_DIR, load_model
from nn_core.training import split
from strokes import curly_nines


@pytest.fixture
def store(backend):
    """A drawings store on each back end: what is not about files behaves the same on both."""
    return DrawingStore(backend)


@pytest.fixture
def sqlite_store(tmp_path):
    return DrawingStore(tmp_path / "kept" / "drawings.sqlite")


def digit_image(seed):
    return np.random.default_rng(seed).random((28, 28)).astype(np.float32)


def picture():
    buffer = io.BytesIO()
    Image.new("L", (280, 280), 0).save(buffer, format="PNG")
    return buffer.getvalue()


def csv_text(rows, header=None):
    header = header or ["label"] + ["pixel%d" % i for i in range(784)]
    return "\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]).encode()


def test_a_drawing_is_kept_with_everything_the_issue_lists(store):
    image = digit_image(0)
    p = np.eye(10)[3] * 0.7 + 0.03
    first = store.add("visitor-a", 9, image, picture=picture(), answer=3, probabilities=p, model="default")
    second = store.add("visitor-b", 4, digit_image(1))
    assert second > first
    (a,) = store.drawings(owner="visitor-a", with_pictures=True)
    assert (a.id, a.owner, a.label, a.answer, a.model, a.source) == (first, "visitor-a", 9, 3, "default", "drawn")
    assert np.array_equal(a.image, np.round(image * 255).astype(np.uint8))
    assert np.allclose(a.probabilities, p, atol=1e-6)
    assert Image.open(io.BytesIO(a.picture)).size == (280, 280)
    assert a.created.endswith("+00:00")
    assert [d.id for d in store.drawings()] == [second, first]  # newest first
    assert store.drawings()[1].picture is None  # pictures only when asked for
    assert drawings.counts(store.drawings()) == [0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


def test_the_file_is_created_where_the_environment_says_in_wal_mode_with_a_schema_version(tmp_path, monkeypatch):
    path = tmp_path / "somewhere" / "d.sqlite"
    monkeypatch.setenv(drawings.ENV_VAR, str(path))
    assert not path.exists()
    DrawingStore().add("s", 1, digit_image(0))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_an_older_file_is_migrated_and_keeps_its_drawings(sqlite_store, monkeypatch):
    store, path = sqlite_store, sqlite_store.backend.path
    kept = store.add("s", 5, digit_image(0))
    monkeypatch.setattr(DrawingStore.SCHEMA, "sqlite", MIGRATIONS + ["ALTER TABLE drawings ADD COLUMN note TEXT"])
    assert [d.id for d in store.drawings()] == [kept]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
        assert "note" in [row[1] for row in conn.execute("PRAGMA table_info(drawings)")]


def test_a_database_of_the_first_version_keeps_whose_drawings_they_are(backend):
    """Version 1 called a drawing's person its "session"; version 2 calls it "owner", as runs and
    models do: each drawing still belongs to the same person after the migration."""
    from nn_core.database import is_url, postgres_script

    first = [s for s in MIGRATIONS[0].split(";") if s.strip()]
    insert = "INSERT INTO drawings (created, session, label, input) VALUES ('2026-01-01', 'alice', 7, %s)"
    if is_url(backend):
        import psycopg

        with psycopg.connect(backend, autocommit=True) as conn:
            for statement in first:
                conn.execute(postgres_script(statement))
            conn.execute(
                "CREATE TABLE schema_version (store TEXT NOT NULL, version INTEGER NOT NULL, "
                "applied TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (store, version))"
            )
            conn.execute("INSERT INTO schema_version (store, version) VALUES ('drawings', 1)")
            conn.execute(insert % "%s", (bytes(784),))
    else:
        with sqlite3.connect(backend) as conn:
            for statement in first:
                conn.execute(statement)
            conn.execute(insert % "?", (bytes(784),))
            conn.execute("PRAGMA user_version = 1")
    store = DrawingStore(backend)
    assert [(d.owner, d.label) for d in store.drawings(owner="alice")] == [("alice", 7)]
    assert store.count("bob") == 0 and store.count("alice") == 1


def test_a_file_from_a_newer_version_is_left_alone(sqlite_store):
    store, path = sqlite_store, sqlite_store.backend.path
    store.add("s", 5, digit_image(0))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(DrawingsError, match="newer version"):
        store.add("s", 6, digit_image(1))
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM drawings").fetchone()[0] == 1


def test_eight_sessions_writing_at_once_lose_nothing(store):
    def visitor(k):
        for i in range(25):
            store.add("visitor-%d" % k, (k + i) % 10, digit_image(i))

    assert at_once(visitor, 8) == [None] * 8  # none raised
    kept = store.drawings()
    assert len(kept) == 200 and len({d.id for d in kept}) == 200
    assert all(len(store.drawings(owner="visitor-%d" % k)) == 25 for k in range(8))


@pytest.mark.parametrize("label", [10, -1, "7", 3.5, True, None])
def test_a_label_outside_0_to_9_is_refused_and_nothing_is_stored(store, label):
    with pytest.raises(ValueError, match="digit from 0 to 9"):
        store.add("s", label, digit_image(0))
    assert store.drawings() == []


def test_a_file_that_is_not_a_database_is_reported_and_left_as_it_was(sqlite_store):
    store, path = sqlite_store, sqlite_store.backend.path
    path.parent.mkdir(parents=True)
    junk = bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8))
    path.write_bytes(junk)
    for attempt in (lambda: store.add("s", 1, digit_image(0)), store.drawings):
        with pytest.raises(DrawingsError, match="not a drawings database.*Nothing was changed"):
            attempt()
    assert path.read_bytes() == junk


def test_a_table_of_another_layout_is_reported(sqlite_store):
    store, path = sqlite_store, sqlite_store.backend.path
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE drawings (id INTEGER PRIMARY KEY, label TEXT)")
        conn.execute("PRAGMA user_version = %d" % len(MIGRATIONS))
    with pytest.raises(DrawingsError, match="layout of a drawings database"):
        store.add("s", 1, digit_image(0))
    with pytest.raises(DrawingsError, match="layout of a drawings database"):
        store.drawings()


def test_rows_edited_by_hand_are_left_out_and_counted(sqlite_store):
    store, path = sqlite_store, sqlite_store.backend.path
    good = store.add("s", 2, digit_image(0))
    bad = [store.add("s", 3, digit_image(i)) for i in (1, 2, 3)]
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        conn.execute("UPDATE drawings SET input = x'00' WHERE id = ?", [bad[0]])
        conn.execute("UPDATE drawings SET label = 'seven' WHERE id = ?", [bad[1]])
        conn.execute("UPDATE drawings SET probabilities = '[0.1, ' WHERE id = ?", [bad[2]])
    assert [d.id for d in store.drawings()] == [good]
    assert store.damaged == 3


def test_a_locked_database_is_reported_and_what_it_held_is_kept(sqlite_store, monkeypatch):
    store, path = sqlite_store, sqlite_store.backend.path
    monkeypatch.setattr(database, "BUSY_SECONDS", 0.3)
    store.add("s", 1, digit_image(0))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DrawingsError, match="locked by another program.*Nothing was changed"):
            store.add("s", 2, digit_image(1))
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.add("s", 3, digit_image(2))
    assert sorted(d.label for d in store.drawings()) == [1, 3]


def test_a_full_disk_is_reported_and_nothing_is_stored_half_way(sqlite_store, monkeypatch):
    store = sqlite_store
    store.add_many("s", [digit_image(i) for i in range(5)], [1] * 5)
    before = len(store.drawings())
    connect = database.Sqlite._connect

    def full(self):  # the database may not grow by a single page: what a full disk does to SQLite
        conn = connect(self)
        conn.execute("PRAGMA max_page_count = %d" % conn.execute("PRAGMA page_count").fetchone()[0])
        return conn

    monkeypatch.setattr(database.Sqlite, "_connect", full)
    big = [np.random.default_rng(i).random((28, 28)) for i in range(200)]
    with pytest.raises(DrawingsError, match="disk is full.*Nothing was changed"):
        store.add_many("s", big, [2] * 200)
    monkeypatch.undo()
    assert len(store.drawings()) == before


def test_a_csv_round_trip_and_a_zip_of_pictures(store, tmp_path):
    ids = [store.add("s", i % 10, digit_image(i), picture=picture() if i % 2 else None) for i in range(12)]
    kept = store.drawings(with_pictures=True)
    again = DrawingStore(tmp_path / "other.sqlite")
    assert again.import_csv(io.BytesIO(drawings.to_csv(kept)), "t") == (12, 0)
    copied = again.drawings()
    assert [d.label for d in copied] == [d.label for d in kept]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(copied, kept))
    assert {d.source for d in copied} == {"imported"}
    with zipfile.ZipFile(io.BytesIO(drawings.to_zip(kept))) as archive:
        names = set(archive.namelist())
        assert len(names) == 12 + 6  # every 28x28 input, and the 6 pictures as drawn
        assert "%05d-digit-1.png" % ids[1] in names
        assert Image.open(archive.open("%05d-digit-0-28x28.png" % ids[0])).size == (28, 28)


@pytest.mark.parametrize(
    "content, message",
    [
        (csv_text([[1] + [0] * 783], header=["label"] + ["pix%d" % i for i in range(784)]), "columns pixel0..pixel783"),
        (csv_text([[0] * 784], header=["pixel%d" % i for i in range(784)]), "no label column"),
        (csv_text([[1] + [0] * 784] * 40 + [[12] + [0] * 784]), "labels must be whole numbers from 0 to 9; row 42"),
        (csv_text([[1] + [0] * 784] * 5001), "at most 5000 drawings"),
    ],
)
def test_a_bad_import_says_why_and_stores_nothing(store, content, message):
    store.add("s", 7, digit_image(0))
    with pytest.raises(DataError, match=message):
        store.import_csv(io.BytesIO(content), "s")
    assert [d.label for d in store.drawings()] == [7]


def test_ten_thousand_rows_are_refused_at_once(store):
    rows = np.random.default_rng(0).integers(0, 10, (10_000, 785))  # one digit a cell: within the size of 5,000 drawings
    with pytest.raises(DataError, match="more than 5000 rows; at most 5000"):
        store.import_csv(io.BytesIO(csv_text(rows.tolist())), "s")
    assert store.drawings() == []


class Unread(io.BytesIO):
    """A file that fails if anything reads it."""

    def read(self, *args):
        raise AssertionError("the file was read")

    readline = readinto = read


def test_a_file_larger_than_5000_drawings_can_be_is_refused_unread(store):
    from nn_core import csv_import

    worst = csv_text([[9] + [255] * 784] * 5000)  # the longest rows there can be
    assert len(worst) <= csv_import.MAX_IMPORT_BYTES
    assert store.import_csv(io.BytesIO(worst), "s") == (5000, 0)
    with pytest.raises(
        DataError, match=r"the file is 28\.0 MB, and a CSV of 5000 drawings is at most 16\.0 MB.*Nothing was imported"
    ):
        store.import_csv(Unread(b"0" * 28_000_000), "t")
    assert store.count("t") == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"label,pixel0\n", "columns pixel0..pixel783"),
        (csv_text([[1] + [0] * 784]).replace(b"\n1,", b"\n1,0,", 1), "row 2 has 786 values; a drawing is a label and 784 pixels"),
        (csv_text([[1] + [0] * 784], header=["label"] + ["pixel%d" % i for i in range(784)] + ["extra"]), "785 columns"),
        (csv_text([[1] + [0] * 783 + [10**23]]), "line 2 is longer|pixel values must be whole numbers"),
        (
            csv_text([[1] + [0] * 783 + [256]]),
            "pixel values must be whole numbers from 0 to 255; row 2, column pixel783 has '256'",
        ),
        (csv_text([[1] + [0] * 783 + ["1.5"]]), "pixel values must be whole numbers from 0 to 255; row 2, column pixel783"),
        (b"", "empty"),
    ],
)
def test_every_row_is_checked_for_its_785_whole_numbers(store, content, message):
    with pytest.raises(DataError, match=message):
        store.import_csv(io.BytesIO(content), "s")
    assert store.count() == 0


def test_columns_in_another_order_are_read_by_their_names(store):
    header = ["pixel%d" % i for i in range(784)] + ["label"]
    image = np.arange(784) % 256
    assert store.import_csv(io.BytesIO(csv_text([image.tolist() + [7]], header=header)), "s") == (1, 0)
    (kept,) = store.drawings()
    assert kept.label == 7 and np.array_equal(kept.image.reshape(-1), image)


def test_a_long_csv_is_refused_by_its_row_count_before_it_is_parsed(store):
    """Rows that would fail to parse: the count answers first, so the file was never parsed."""
    header = "label," + ",".join("pixel%d" % i for i in range(784))
    lines = io.BytesIO((header + "\n" + "not,a,digit\n" * 5001).encode())
    with pytest.raises(DataError, match="more than 5000 rows"):
        store.import_csv(lines, "s")
    five_thousand = io.BytesIO((header + "\n" + "not,a,digit\n" * 5000).encode())
    with pytest.raises(DataError, match="pixel|whole numbers|could not read"):
        store.import_csv(five_thousand, "s")  # at the limit it is parsed, and its rows are refused for what they are
    assert store.drawings() == []


def test_every_copy_of_a_drawing_is_on_one_side_of_the_validation_split(store):
    for i in range(20):
        store.add("s", i % 10, digit_image(i))
    x, y, g = drawings.training_set(store.drawings(), copies=5)
    assert x.shape == (100, 784) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    images, labels, groups = data.mix(np.zeros((50, 784), np.float32), np.zeros(50, np.int64), None, (x, y, g))
    val, train = split(len(labels), 10, 0.2, np.random.default_rng(0), groups)
    held = set(groups[val]) - {-1}
    assert held and not held & set(groups[train])
    assert (groups[train] >= 0).sum() + (groups[val] >= 0).sum() == 100  # every copy is used: n_train picks MNIST only
    assert (groups[np.concatenate([val, train])] < 0).sum() == 10


@pytest.mark.slow
def test_fine_tuning_on_corrected_drawings_teaches_the_shipped_model_a_style(tmp_path, shipped_weights, mnist, capsys):
    """30 curly-tailed 9s the shipped model misreads, kept with their right label, then
    ``train --from default --drawings DB`` for 3 epochs: they and 30 new ones are read right,
    and MNIST test accuracy drops by no more than half a point."""
    shipped = load_model(WEIGHTS_DIR / "default.npz")
    seen = np.array([to_mnist(p) for p in curly_nines(30, seed=1)])
    new = np.array([to_mnist(p) for p in curly_nines(30, seed=2)])
    before = shipped.predict_proba(seen.reshape(30, -1)).argmax(axis=1)
    assert (before != 9).sum() >= 15  # the style is misread half the time or more (19 of 30 by the shipped model)
    store = DrawingStore(tmp_path / "drawings.sqlite")
    for image, answer in zip(seen, before):
        store.add("teacher", 9, image, answer=int(answer), model="default")
    assert (
        cli.main(
            [
                "train",
                "--from",
                "default",
                "--drawings",
                store.where,
                "--epochs",
                "3",
                "--rate",
                "1e-4",
                "--schedule",
                "constant",
                "--n-train",
                "10000",
                "--val-fraction",
                "0",
                "--name",
                "tuned",
            ]
        )
        == 0
    )
    assert "fine-tuning default" in capsys.readouterr().out
    tuned = load_model("tuned")
    assert tuned.meta["started_from"] == "default" and "30 kept drawings" in tuned.meta["data"]
    assert (tuned.predict_proba(seen.reshape(30, -1)).argmax(axis=1) == 9).all()
    assert (tuned.predict_proba(new.reshape(30, -1)).argmax(axis=1) == 9).sum() >= 29
    drop = evaluate(shipped, mnist.x_test, mnist.y_test)["accuracy"] - tuned.meta["test_accuracy"]
    assert drop <= 0.005


def test_the_command_line_says_what_is_wrong_with_its_drawings(tmp_path, weights_dir, capsys):
    assert cli.main(["train", "--drawings", str(tmp_path / "none.sqlite"), "--name", "x"]) == 2
    assert "no drawings database" in capsys.readouterr().err
    empty = DrawingStore(tmp_path / "empty.sqlite")
    empty.drawings()  # creates the file
    assert cli.main(["train", "--drawings", empty.where, "--name", "x"]) == 2
    assert "holds no drawings" in capsys.readouterr().err
    assert cli.main(["train", "--from", "nothing-here", "--name", "x"]) == 2
    assert "nothing-here" in capsys.readouterr().err


def test_a_person_keeps_at_most_so_many_drawings(store, monkeypatch):
    monkeypatch.setattr(drawings, "MAX_PER_PERSON", 5)
    for i in range(4):
        store.add("s", i, digit_image(i))
    with pytest.raises(DrawingsError, match="one person may keep 5"):
        store.add_many("s", [digit_image(i) for i in range(2)], [1, 2])  # all or none
    assert store.count("s") == 4
    store.add("s", 9, digit_image(9))
    with pytest.raises(DrawingsError, match="Nothing was added"):
        store.add("s", 9, digit_image(9))
    store.add("other", 1, digit_image(1))  # another person is not held back
    assert store.count("s") == 5 and store.count("other") == 1


def test_importing_ones_own_export_again_adds_nothing(store):
    for i in range(7):
        store.add("s", i, digit_image(i))
    exported = drawings.to_csv(store.drawings())
    assert store.import_csv(io.BytesIO(exported), "s") == (0, 7)
    assert store.count("s") == 7
    assert store.import_csv(io.BytesIO(exported), "t") == (7, 0)  # another person's are their own


def test_a_deleted_drawing_comes_back_as_it_was(store):
    store.add("s", 4, digit_image(4), picture=picture(), answer=9, probabilities=np.eye(10)[9], model="default")
    [before] = store.drawings(with_pictures=True)
    assert store.delete(before.id, owner="s")
    store.put_back(before)
    [after] = store.drawings(with_pictures=True)
    for name in ("owner", "label", "answer", "model", "picture", "created", "source"):
        assert getattr(after, name) == getattr(before, name), name
    assert np.array_equal(after.image, before.image) and np.allclose(after.probabilities, before.probabilities)
