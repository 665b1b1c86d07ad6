"""SQLite in WAL mode (the embedded setup): a request's connection closing must not checkpoint and
delete the log, as the last connection to a database does (backend/sqlite_wal.py; issue 17: about
4 ms at the close and 3 ms more at the next commit, on every dispatch). Counted by what SQLite
did to the files, not timed."""

import sqlite3

from backend.sqlite_wal import open_held


def make_database(path) -> None:
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE alert (id INTEGER PRIMARY KEY, state TEXT)")
    setup.commit()
    setup.close()


def a_request(path) -> None:
    """What a request's thread does: open, write in a transaction, close."""
    request = sqlite3.connect(path)
    request.execute("INSERT INTO alert (state) VALUES ('alerted')")
    request.commit()
    request.close()


def test_without_a_held_connection_each_close_checkpoints_and_deletes_the_log(tmp_path):
    path = tmp_path / "db.sqlite3"
    make_database(path)
    a_request(path)
    assert not (tmp_path / "db.sqlite3-wal").exists()


def test_with_one_held_the_log_stays_after_a_request_closes(tmp_path):
    path = tmp_path / "db.sqlite3"
    make_database(path)
    held = open_held(str(path))
    try:
        for _ in range(3):
            a_request(path)
        wal = tmp_path / "db.sqlite3-wal"
        assert wal.exists() and wal.stat().st_size > 0
        assert held.execute("SELECT count(*) FROM alert").fetchone() == (3,)
        assert not held.in_transaction  # never blocks a writer or a checkpoint
    finally:
        held.close()
