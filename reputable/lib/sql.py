"""Plain SQL for the hot paths (event ingestion, the dispatcher), on SQLite and PostgreSQL alike.

The ORM costs about 0.4 ms of CPU per query to build on a small machine, more than the
query itself; ingestion runs a handful of fixed statements per request, so it writes them
out. Tables and columns come from the models' `_meta`: an `Insert` writes every concrete
column of its model (the caller's values, the field's default for the rest), and `Select`
reads every column back into a model instance, so adding a field with a default needs no
change here. Values are adapted as Django adapts them.
"""

import datetime as dt
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import connection, models
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


def quote(name: str) -> str:
    """A table or column name quoted for SQL: the same on SQLite and PostgreSQL."""
    return f'"{name}"'


@cache
def table(model: Any) -> str:
    return quote(model._meta.db_table)


def to_datetime(value: Any) -> dt.datetime:
    """A datetime column as read back: SQLite gives UTC text, PostgreSQL an aware value."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def to_time(value: Any) -> dt.time | None:
    if value is None or isinstance(value, dt.time):
        return value
    return dt.time.fromisoformat(value)


def to_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


# How a value read back by plain SQL becomes the field's Python value, by the field's type
# (SQLite gives text for times and 0/1 for booleans); other types come back as they are.
_READERS: dict[str, Any] = {
    "DateTimeField": lambda v: None if v is None else to_datetime(v),
    "DateField": to_date,
    "TimeField": to_time,
    "BooleanField": lambda v: None if v is None else bool(v),
    "JSONField": lambda v: json.loads(v) if isinstance(v, str) else v,
}
# Field types whose values are written as they are (strings, numbers, None, keys).
_PLAIN = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveBigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "URLField",
}
_TIMES = {"DateTimeField", "DateField", "TimeField"}


def _writable(model: type[models.Model]) -> list[models.Field]:
    """The concrete fields an INSERT writes: all but an automatic primary key."""
    return [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]


class Insert:
    """A multi-row INSERT of `model`, the caller giving the values of `given` (attnames) in order.

    Every other concrete column is written too, with the field's default (a callable default
    is called per row), so a new field with a default needs no change to the caller. A column
    with neither raises before anything is written (and fails the model-column test first).
    """

    def __init__(self, model: type[models.Model], given: Sequence[str]) -> None:
        self.model = model
        self.given = tuple(given)
        by_attname = {f.attname: f for f in _writable(model)}
        if unknown := set(self.given) - set(by_attname):
            raise ValueError(f"{model.__name__} has no writable column {', '.join(sorted(unknown))}")
        rest = [f for name, f in by_attname.items() if name not in self.given]
        # A callable default (timezone.now, new_token) is called per row; any other is one value.
        self.computed = [f for f in rest if f.has_default() and callable(f.default)]
        self.constant = [f for f in rest if f not in self.computed]
        self.constant_values = tuple(f.get_default() for f in self.constant)
        # In the order the rows are written: the given values, then the defaults.
        self.fields = [*(by_attname[name] for name in self.given), *self.constant, *self.computed]
        self.columns = [quote(str(f.column)) for f in self.fields]
        # The given columns whose values need adapting (see _adapt), and how.
        self.adapted = [(i, f, _how(f)) for i, f in enumerate(self.fields[: len(self.given)]) if _how(f) is not None]
        INSERTS.append(self)

    def missing(self) -> list[str]:
        """Columns neither given nor defaulted: an INSERT would fail on them (NOT NULL)."""
        return [f.attname for f in (*self.constant, *self.computed) if f.get_default() is None and not f.null]

    def run(
        self, db: "Statements", rows: Sequence[Sequence[Any]], *, returning: str = "id", suffix: str = ""
    ) -> list[tuple[Any, ...]]:
        """INSERT the rows (values of `given`, as Python values); the RETURNING rows in input order."""
        if missing := self.missing():
            raise ValueError(f"{self.model.__name__}: no value and no default for {', '.join(missing)}")
        # Defaults are adapted once per statement (a callable one per row); of the given values,
        # the same object in row after row (the batch's `now`) is adapted once.
        constant = tuple(_adapt(db, _how(f), f, v) for f, v in zip(self.constant, self.constant_values, strict=True))
        full = []
        last: dict[int, tuple[Any, Any]] = {}
        for row in rows:
            if self.adapted:
                values = list(row)
                for i, field, how in self.adapted:
                    seen = last.get(i)
                    if seen is None or seen[0] is not values[i]:
                        seen = last[i] = (values[i], _adapt(db, how, field, values[i]))
                    values[i] = seen[1]
                row = values
            if self.computed:
                row = (*row, *constant, *(_adapt(db, _how(f), f, f.get_default()) for f in self.computed))
            else:
                row = (*row, *constant)
            full.append(row)
        return db.insert(table(self.model), self.columns, full, returning=returning, suffix=suffix)


def _how(field: models.Field) -> bool | None:
    """How a field's values are adapted: None as they are, True as dates and times, False by Django."""
    kind = field.get_internal_type()
    return None if kind in _PLAIN else kind in _TIMES


def _adapt(db: "Statements", how: bool | None, field: models.Field, value: Any) -> Any:
    """A Python value as the database takes it in plain SQL, as Django would adapt it."""
    if how is None or value is None:
        return value
    return db.value(value) if how else field.get_db_prep_save(value, db.cursor.db)


# Every Insert made, for the test that checks each writes every column of its model.
INSERTS: list[Insert] = []


class Select:
    """Every concrete column of `model` but those in `defer`, read by plain SQL and made into
    model instances (where the deferred ones are loaded if ever read, as the ORM's `defer()`)."""

    def __init__(self, model: type[models.Model], alias: str = "", *, defer: Collection[str] = ()) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if f.name not in defer]
        prefix = f"{alias}." if alias else ""
        self.columns = ", ".join(prefix + quote(str(f.column)) for f in self.fields)
        self.readers = [
            (i, _READERS[f.get_internal_type()]) for i, f in enumerate(self.fields) if f.get_internal_type() in _READERS
        ]
        self.attnames = [f.attname for f in self.fields]

    def instance(self, row: Sequence[Any], db_alias: str = "default") -> Any:
        values = list(row)
        for i, read in self.readers:
            values[i] = read(values[i])
        return self.model.from_db(db_alias, self.attnames, values)


class Statements:
    """Statements on one cursor, with values adapted for its database."""

    def __init__(self, cursor: CursorWrapper) -> None:
        self.cursor = cursor
        self.sqlite = cursor.db.vendor == "sqlite"
        # SQLite keeps datetimes as naive UTC text, as Django's own adapter writes them.
        self.text_times = self.sqlite

    def value(self, value: Any) -> Any:
        if self.text_times and isinstance(value, dt.date | dt.time):
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
