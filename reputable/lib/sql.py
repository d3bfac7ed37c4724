"""Plain SQL for the hot paths (event ingestion, the dispatcher), on SQLite and PostgreSQL alike.

The ORM costs about 0.4 ms of CPU per query to build on a small machine, more than the
query itself; ingestion runs a handful of fixed statements per request, so it writes them
out. Tables and columns come from the models; values are adapted as Django adapts them.
"""

import datetime as dt
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

# Rows per multi-row INSERT: far below SQLite's 32,766 bound variables with 15 columns.
CHUNK = 500

_writers = threading.Lock()


@cache
def _lock_file(database: str) -> int:
    return os.open(f"{database}.writelock", os.O_RDWR | os.O_CREAT, 0o600)


@contextmanager
def one_writer() -> Iterator[None]:
    """Queue writers on SQLite on a lock that wakes the next one the moment it is free.

    SQLite's own busy handler retries after sleeping 1, 2, 5, 10 ... ms, which caps a busy
    write path at a few hundred transactions a second. PostgreSQL needs none of this.
    """
    database = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or database.startswith((":memory:", "file:")):
        yield
        return
    with _writers:  # threads of this process
        fd = _lock_file(database)
        fcntl.flock(fd, fcntl.LOCK_EX)  # other processes
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def marks(n: int) -> str:
    return ", ".join(["%s"] * n)


def table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def to_datetime(value: Any) -> dt.datetime:
    """A datetime column as read back: SQLite gives UTC text, PostgreSQL an aware value."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def to_time(value: Any) -> dt.time | None:
    if value is None or isinstance(value, dt.time):
        return value
    return dt.time.fromisoformat(value)


class Statements:
    """Statements on one cursor, with values adapted for its database."""

    def __init__(self, cursor: CursorWrapper) -> None:
        self.cursor = cursor
        self.sqlite = cursor.db.vendor == "sqlite"
        # SQLite keeps datetimes as naive UTC text, as Django's own adapter writes them.
        self.text_times = self.sqlite

    def value(self, value: Any) -> Any:
        if self.text_times and isinstance(value, dt.date):
            if isinstance(value, dt.datetime):
                # "2026-11-23 09:00:00[.123456]" in UTC, as str() of the naive value gives it.
                return value.astimezone(dt.UTC).isoformat(" ")[:-6]
            return value.isoformat()
        return value

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return self.cursor.fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if not self.sqlite:
            self.cursor.execute(sql, params)
            return
        # Django's SQLite cursor turns %s into ? with a regular expression on every call,
        # a tenth of a 1,000-event batch with its long INSERTs; these statements hold no
        # other % and no named parameters, so a plain replace does.
        with self.cursor.db.wrap_database_errors:
            sqlite3.Cursor.execute(self.cursor.cursor, sql.replace("%s", "?"), params)

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        returning: str = "id",
        suffix: str = "",
    ) -> list[tuple[Any, ...]]:
        """Multi-row INSERT … RETURNING, in chunks; the RETURNING rows in input order.

        Datetimes and dates in `rows` must come through `value()`.
        """
        out: list[tuple[Any, ...]] = []
        row_marks = "(" + marks(len(columns)) + ")"
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            sql = (
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row_marks] * len(chunk))}"
                f" {suffix}{' RETURNING ' + returning if returning else ''}"
            )
            self.execute(sql, [value for row in chunk for value in row])
            if returning:
                out.extend(self.cursor.fetchall())
        return out
