"""Keyset pages for the dashboard's long lists: "older" and "newer" links, never OFFSET.

A list is a queryset ordered by one integer column (newest first: the highest first). A page
is the next rows after a position, found by the column's index however deep the page is; the
links carry the position as a signed cursor, so that a position this page did not give out
is refused before it reaches a query.
"""

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import QuerySet
from django.http import QueryDict

from reputable.lib.api import invalid

_CURSORS = signing.Signer(salt="reputable.dashboard.cursor")


class BadCursor(ValueError):
    """A cursor this dashboard did not give out (or an altered one)."""


@dataclass(frozen=True)
class Position:
    """Where a page starts: the rows older than `key` (or newer, when `newer`)."""

    key: int
    newer: bool = False

    def cursor(self) -> str:
        return _CURSORS.sign_object(["newer" if self.newer else "older", self.key])

    @classmethod
    def of(cls, cursor: str | None) -> "Position | None":
        if not cursor:
            return None
        try:
            direction, key = _CURSORS.unsign_object(cursor)
            if direction not in ("older", "newer") or type(key) is not int:
                raise ValueError(cursor)
        except (signing.BadSignature, TypeError, ValueError):
            raise BadCursor("this link's page position is not one the dashboard gave out") from None
        return cls(key, newer=direction == "newer")


@dataclass(frozen=True)
class Page:
    """The keys of one page, newest first, and the cursors of the pages around it (or None)."""

    keys: list[Any]
    older: str | None
    newer: str | None

    def link(self, params: QueryDict, cursor: str) -> str:
        """A query string for the same list at another page: `params` with `cursor` set."""
        changed = params.copy()
        changed["cursor"] = cursor
        return "?" + changed.urlencode()


def api_position(cursor: str | None) -> Position | None:
    """The position of an API page's `cursor` (a `next_cursor` it gave out); a 422 naming
    `cursor` for any other."""
    try:
        return Position.of(cursor)
    except BadCursor:
        raise invalid("cursor", "is not a cursor this API gave out") from None


def keyset_page(rows: QuerySet[Any], column: str, position: Position | None, size: int) -> Page:
    """One page of `size` values of `column` (an indexed integer column of `rows`), from
    `position` on: the newest page when None. Takes `size + 1` rows to know whether more follow.
    """
    if position is not None:
        rows = rows.filter(**{f"{column}__{'gt' if position.newer else 'lt'}": position.key})
    ordered = rows.order_by(column if position is not None and position.newer else f"-{column}")
    keys = list(ordered.values_list(column, flat=True)[: size + 1])
    more = len(keys) > size
    keys = keys[:size]
    if position is not None and position.newer:
        keys.reverse()
        # Newer rows came ascending: more of them means a still newer page; older ones exist,
        # the position itself among them.
        newer, older = more, True
    else:
        newer, older = position is not None, more
    return Page(
        keys,
        older=Position(keys[-1]).cursor() if older and keys else None,
        newer=Position(keys[0], newer=True).cursor() if newer and keys else None,
    )
