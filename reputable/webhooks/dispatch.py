"""Webhook deliveries as the dispatcher's due work, by the Standard Webhooks specification.

Each try POSTs the message's body, as it was made, with `webhook-id` (the message's, the same on
every try), `webhook-timestamp` (the try's) and `webhook-signature` (`v1,` and the base64 of the
HMAC-SHA256 of `id.timestamp.body`; two of them for a day after a rotation), through the one
outbound client (SSRF-safe, no redirects, 15 s timeouts), on one connection kept open between
tries. A 2xx is a success; anything else (a 3xx included) fails the try:

- tried again on the specification's schedule, SCHEDULE after the first try, each wait with
  a tenth of jitter either way, and given up after the last;
- 429 and 503 with `Retry-After` (seconds or an HTTP date): tried again when it says, within a day;
- 410 Gone: the endpoint is disabled at once;
- an endpoint that has failed every try for ENDPOINT_FAILING_DAYS is disabled, and its
  owners are emailed.

Deliveries are claimed oldest first, so an endpoint gets its messages in the order they were
made; a message that fails is retried on its own and does not hold the others back (Standard
Webhooks asks no strict order: the body's `timestamp` tells it).
"""

import datetime as dt
import email.utils
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, models
from django.db import transaction as db_transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_noop
from standardwebhooks.webhooks import Webhook

from reputable.dispatch.leases import storable
from reputable.dispatch.work import Check, LeasedKind, Permanent, RetryAfter, register
from reputable.lib import outbound, sql
from reputable.webhooks import actions
from reputable.webhooks.models import Attempt, Delivery, Endpoint, Message

# The waits after the first try, the second, ... (Standard Webhooks' schedule); then given up.
SCHEDULE = [
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
]
JITTER = 0.1  # each wait is drawn from ±10 % of its length
MAX_RETRY_AFTER = dt.timedelta(days=1)
ENDPOINT_FAILING_DAYS = 5
BODY_KEPT = 1024  # bytes of an answer's body kept with the try
TIMEOUT = 15.0
SWEEP_EVERY = dt.timedelta(hours=1)
SWEEP_BATCH = 1000  # messages deleted at once
# Why the dispatcher disabled an endpoint (translated in the email to its owners).
GONE = gettext_noop("it answered 410 Gone")
FAILING = gettext_noop("every try failed for 5 days")


# The statements that run once per delivery, in plain SQL: through the ORM, recheck and
# record_done cost more CPU than the POST itself (bench/webhooks.py).
_RECHECK = (
    f"SELECT d.status, d.claim_id, e.disabled_at FROM {sql.table(Delivery)} d"
    f" JOIN {sql.table(Endpoint)} e ON e.id = d.endpoint_id WHERE d.id = %s"
)


def _column(name: str, model: type[models.Model] = Delivery) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return sql.quote(str(field.column))


_SUCCEEDED = (
    f"UPDATE {sql.table(Delivery)} SET {_column('status')} = %s, {_column('succeeded_at')} = %s,"
    f" {_column('claimed_until')} = NULL, {_column('claim_id')} = '', {_column('attempts')} = 0,"
    f" {_column('last_error')} = '', {_column('tries')} = {_column('tries')} + 1, {_column('last_try_at')} = %s,"
    f" {_column('response_status')} = %s, {_column('response_body')} = %s, {_column('duration_ms')} = %s"
    f" WHERE id = %s AND {_column('claim_id')} = %s"
)
_FAILING_SINCE = _column("failing_since", Endpoint)
_RECOVERED = f"UPDATE {sql.table(Endpoint)} SET {_FAILING_SINCE} = NULL WHERE id = %s AND {_FAILING_SINCE} IS NOT NULL"
INSERT_ATTEMPT = sql.Insert(Attempt, ["delivery_id", "at", "response_status", "response_body", "duration_ms", "error"])


def signatures(endpoint: Endpoint, uid: str, at: dt.datetime, body: str) -> str:
    return " ".join(Webhook(secret).sign(uid, at, body) for secret in endpoint.secrets(at))


def retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """The wait a Retry-After header asks for (delay-seconds or an HTTP date), within a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = dt.timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        wait = when - now
    return max(dt.timedelta(0), min(wait, MAX_RETRY_AFTER))


@dataclass(slots=True)
class Outcome:
    """What one try saw."""

    at: dt.datetime
    status: int | None
    body: str
    duration_ms: int
    error: str = ""


class Failed(Exception):  # noqa: N818
    """A try that did not succeed (retried on the schedule)."""


@register
class Deliveries(LeasedKind):
    name = "webhooks"
    model = Delivery
    related = ("endpoint", "message")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.Client | None = None
        self.outcomes: dict[int, Outcome] = {}
        self.failed: set[int] = set()  # endpoints whose tries failed since their rows were claimed
        self.swept_at: dt.datetime | None = None

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = outbound.client(timeout=TIMEOUT, headers={"User-Agent": "Reputable-Webhooks"})
        return self._client

    def claim(self, now: dt.datetime, lease: dt.timedelta) -> list[Delivery]:
        if self.swept_at is None or now >= self.swept_at + SWEEP_EVERY:
            sweep(now)
            self.swept_at = now
        return super().claim(now, lease)

    def settle(self) -> None:
        """Idle: the connections kept open between tries are closed."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def retry_delay(self, attempts: int) -> dt.timedelta | None:
        if attempts > len(SCHEDULE):
            return None
        wait = SCHEDULE[attempts - 1]
        return wait * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not a secret

    def recheck(self, item: Delivery) -> Check:
        with connection.cursor() as cursor:
            rows = sql.Statements(cursor).fetch(_RECHECK, [item.pk])
        current = rows[0] if rows else None
        if current is None or tuple(current[:2]) != (Delivery.Status.PENDING, item.claim_id):
            return Check.GONE
        if current[2] is not None:  # disabled since it was claimed
            Delivery.objects.filter(pk=item.pk).retry_later(
                item.claim_id, error="the endpoint was disabled", retry_at=None
            )
            return Check.HANDLED
        return Check.DO

    def perform(self, item: Delivery, now: dt.datetime) -> None:
        message, endpoint = item.message, item.endpoint
        at = timezone.now()
        headers = {
            "content-type": "application/json",
            "accept-encoding": "identity",  # the first KB of the answer is kept as it comes
            "webhook-id": message.uid,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures(endpoint, message.uid, at, message.body),
        }
        start = time.perf_counter()
        try:
            with self.client().stream("POST", endpoint.url, content=message.body.encode(), headers=headers) as answer:
                kept = _first_bytes(answer, start + TIMEOUT)
        except httpx.InvalidURL as error:  # a URL httpx cannot call (0177.0.0.1, say): nothing sent
            self.outcomes[item.pk] = Outcome(at, None, "", _ms(start), error=str(error))
            raise Permanent(f"the URL may not be called: {error}") from None
        except httpx.HTTPError as error:
            self.outcomes[item.pk] = Outcome(at, None, "", _ms(start), error=_describe(error))
            self.settle()  # the connection may be broken; the next try opens a fresh one
            if isinstance(error, outbound.Blocked):
                raise Permanent(str(error)) from None
            raise Failed(_describe(error)) from None
        status = answer.status_code
        self.outcomes[item.pk] = Outcome(at, status, kept, _ms(start))
        if 200 <= status < 300:
            return
        why = f"HTTP {status}"
        if status == 410:
            raise Permanent(f"{why}: the endpoint is gone")
        if status in (429, 503) and (wait := retry_after(answer.headers.get("retry-after"), at)) is not None:
            raise RetryAfter(f"{why}, Retry-After {answer.headers['retry-after']}", wait)
        raise Failed(why)

    def record_done(self, item: Delivery, now: dt.datetime) -> None:
        outcome = self.outcomes.pop(item.pk)
        with db_transaction.atomic(), connection.cursor() as cursor:
            db = sql.Statements(cursor)
            at = db.value(outcome.at)
            db.execute(
                _SUCCEEDED,
                [
                    Delivery.Status.SUCCEEDED.value,
                    at,
                    at,
                    outcome.status,
                    outcome.body,
                    outcome.duration_ms,
                    item.pk,
                    item.claim_id,
                ],
            )
            _keep(item, outcome, db)
            # Failing when claimed, or failed since in this batch: no more.
            if item.endpoint.failing_since is not None or item.endpoint_id in self.failed:
                db.execute(_RECOVERED, [item.endpoint_id])
                self.failed.discard(item.endpoint_id)

    def record_failure(self, item: Delivery, error: str, retry_at: dt.datetime | None) -> None:
        outcome = self.outcomes.pop(item.pk, None) or Outcome(timezone.now(), None, "", 0, error=error)
        endpoint = item.endpoint
        with db_transaction.atomic():
            super().record_failure(item, error, retry_at)
            Delivery.objects.filter(pk=item.pk).update(**_seen(item, outcome))
            with connection.cursor() as cursor:
                _keep(item, outcome, sql.Statements(cursor))
            # Read as it is now, not as claimed: another try of the batch may have succeeded.
            Endpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=outcome.at)
            since = Endpoint.objects.filter(pk=endpoint.pk).values_list("failing_since", flat=True).first()
            self.failed.add(endpoint.pk)
            if outcome.status == 410:
                actions.disable_endpoint(endpoint=endpoint, reason=GONE, now=outcome.at)
            elif since is not None and outcome.at - since >= dt.timedelta(days=ENDPOINT_FAILING_DAYS):
                actions.disable_endpoint(endpoint=endpoint, reason=FAILING, now=outcome.at)

    def release(self, items: Sequence[Delivery]) -> None:
        for item in items:
            self.outcomes.pop(item.pk, None)
        super().release(items)


def sweep(now: dt.datetime) -> int:
    """Delete the messages older than WEBHOOK_RETENTION_DAYS with nothing left to deliver, their
    deliveries and tries with them, a batch at a time. Returns how many went."""
    cutoff = now - dt.timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    pending = Delivery.objects.filter(message=OuterRef("pk"), status=Delivery.Status.PENDING)
    old = Message.objects.filter(created_at__lt=cutoff).exclude(Exists(pending)).order_by("created_at")
    pks = list(old.values_list("pk", flat=True)[:SWEEP_BATCH])
    if not pks:
        return 0
    Message.objects.filter(pk__in=pks).delete()
    return len(pks)


def _seen(item: Delivery, outcome: Outcome) -> dict[str, Any]:
    return {
        "tries": item.tries + 1,
        "last_try_at": outcome.at,
        "response_status": outcome.status,
        "response_body": outcome.body,
        "duration_ms": outcome.duration_ms,
    }


def _keep(item: Delivery, outcome: Outcome, db: sql.Statements) -> None:
    row = (item.pk, outcome.at, outcome.status, outcome.body, outcome.duration_ms, outcome.error)
    INSERT_ATTEMPT.run(db, [row])


def _first_bytes(answer: httpx.Response, deadline: float) -> str:
    """The first KB of the body, read until the try's deadline at most: a receiver that trickles
    its answer cannot hold the dispatcher past TIMEOUT."""
    kept = b""
    for chunk in answer.iter_raw():  # as sent: the request asks for no content coding
        kept += chunk
        if len(kept) >= BODY_KEPT:
            break
        if time.perf_counter() > deadline:
            raise httpx.ReadTimeout("the answer took longer than the try may")
    return storable(kept[:BODY_KEPT].decode("utf-8", "replace"))


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"timed out after {TIMEOUT:g} s"
    return storable(f"{type(error).__name__}: {error}")[:500]
