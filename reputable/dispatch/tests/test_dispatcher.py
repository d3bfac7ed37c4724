"""The general dispatcher: kinds of due work round-robin, the outbox, leases, back-off, signals."""

import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import transaction

from reputable.conftest import MONDAY, ShopAccess, SmtpSink, checkout, hanging_smtp, run_dispatcher, subprocess_env
from reputable.dispatch import work
from reputable.dispatch.management.commands.dispatch import Command
from reputable.dispatch.models import OutboxItem
from reputable.dispatch.outbox import OutboxKind, enqueue, send_email
from reputable.invitations.models import Invitation

TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture
def note_template(settings: Any) -> None:
    """The test email `note` (templates/emails/note-*) is known to the template engine."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [TEMPLATES]}]


def a_note(shop: ShopAccess, *, to: str = "anna@example.de", language: str = "de") -> OutboxItem:
    with transaction.atomic():
        return send_email(
            "note",
            to=to,
            context={"shop_name": shop.shop.name, "text": "Tee & Kuchen"},
            language=language,
            shop=shop.shop,
        )


class Echo(OutboxKind):
    """A kind of due work made in a test: one class, one registration."""

    name = "test.echo"
    delivered: list[dict[str, Any]] = []
    failures: list[Exception] = []  # raised by the next deliveries, one each

    def deliver(self, item: OutboxItem) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(item.payload)


@pytest.fixture
def echo() -> Iterator[type[Echo]]:
    work.register(Echo)
    Echo.delivered, Echo.failures = [], []
    try:
        yield Echo
    finally:
        work.KINDS.remove(Echo)


def echo_item(payload: dict[str, Any], **kwargs: Any) -> OutboxItem:
    with transaction.atomic():
        return enqueue("test.echo", payload, **kwargs)


def test_an_outbox_email_goes_out_once_in_the_recipients_language(
    alice: ShopAccess, note_template: None, dispatcher: Command, smtp: SmtpSink, now: Any
) -> None:
    item = a_note(alice)

    assert run_dispatcher(dispatcher) == 1
    assert run_dispatcher(dispatcher) == 0

    [message] = smtp.messages
    assert message["To"] == "anna@example.de"
    assert message["Subject"] == "Jetzt bewerten: Alice Teas"
    assert message["Message-ID"] == f"<outbox-{item.pk}@localhost>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "de"
    assert "Tee & Kuchen" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Tee &amp; Kuchen" in message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    item.refresh_from_db()
    assert (item.status, item.done_at, item.claim_id) == ("done", MONDAY, "")


def test_adding_a_kind_is_one_class_and_one_registration(echo: type[Echo], db: None, now: Any) -> None:
    echo_item({"n": 1})
    dispatcher = Command()

    assert run_dispatcher(dispatcher) == 1
    assert echo.delivered == [{"n": 1}]
    assert OutboxItem.objects.get().status == "done"


def test_a_failing_row_is_retried_with_back_off_and_keeps_its_error(echo: type[Echo], db: None, now: Any) -> None:
    item = echo_item({"n": 1})
    echo.failures = [ConnectionError("receiver down"), ConnectionError("still down")]
    dispatcher = Command()

    assert dispatcher.handle_one() is True
    item.refresh_from_db()
    assert (item.status, item.attempts, item.due_at) == ("pending", 1, MONDAY + dt.timedelta(minutes=1))
    assert item.last_error == "ConnectionError: receiver down"
    assert dispatcher.handle_one() is False  # not before the back-off

    now.shift(dt.timedelta(minutes=1))
    assert dispatcher.handle_one() is True
    now.shift(dt.timedelta(minutes=2))
    assert dispatcher.handle_one() is True

    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_error) == ("done", 2, "")
    assert echo.delivered == [{"n": 1}]


def test_a_permanent_failure_gives_up_at_once(echo: type[Echo], db: None, now: Any) -> None:
    item = echo_item({"n": 1})
    echo.failures = [work.Permanent("the receiver said 410 Gone")]

    assert run_dispatcher(Command()) == 1

    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_error) == ("failed", 1, "Permanent: the receiver said 410 Gone")


def test_a_row_due_later_waits_for_its_time(echo: type[Echo], db: None, now: Any) -> None:
    echo_item({"deadline": True}, due_at=MONDAY + dt.timedelta(days=2))
    dispatcher = Command()

    assert run_dispatcher(dispatcher) == 0
    now.shift(dt.timedelta(days=2))
    assert run_dispatcher(dispatcher) == 1


def test_a_busy_kind_never_starves_another(alice: ShopAccess, echo: type[Echo], smtp: SmtpSink, now: Any) -> None:
    alice.patch("/api/v1/shop", {"frequency_cap_days": 0})
    alice.post("/api/v1/events/batch", {"events": [checkout(str(n)) for n in range(120)]})
    now.move_to(MONDAY + dt.timedelta(days=7))
    dispatcher = Command()
    assert dispatcher.handle_one() is True  # an invitation; the outbox kinds are idle for now

    for n in range(3):
        echo_item({"n": n})
    steps = [dispatcher.handle_one() for _ in range(60 + 3)]  # the idle kinds are asked again soon

    assert all(steps)
    assert echo.delivered == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len(smtp.messages) == 61


@pytest.mark.django_db(transaction=True)  # outside the test's own transaction
def test_an_outbox_row_belongs_inside_the_transaction_of_its_change(echo: type[Echo]) -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        enqueue("test.echo", {"n": 1})
    with transaction.atomic(), pytest.raises(ValueError, match="no outbox kind"):
        enqueue("test.nothing", {"n": 1})
    assert OutboxItem.objects.count() == 0


def test_a_change_rolled_back_leaves_no_outbox_row(echo: type[Echo], db: None) -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        enqueue("test.echo", {"n": 1})
        1 / 0  # noqa: B018 - the change that caused it fails

    assert OutboxItem.objects.count() == 0


def invitation_due(shop: ShopAccess) -> Callable[[], Any]:
    shop.post("/api/v1/events", checkout(transaction={"reference": "1", "date": "2026-11-01T08:00:00Z"}))
    return lambda: Invitation.objects.get()


def outbox_email_due(shop: ShopAccess) -> Callable[[], Any]:
    a_note(shop)
    return lambda: OutboxItem.objects.get()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("work_due", [invitation_due, outbox_email_due], ids=["invitation", "outbox email"])
def test_a_dispatcher_killed_mid_send_loses_nothing(
    alice: ShopAccess, work_due: Callable[[ShopAccess], Callable[[], Any]], note_template: None, smtp: SmtpSink
) -> None:
    """`reputable dispatch` claims the row and hangs in SMTP DATA; it is killed there (SIGKILL).

    The row stays claimed until the lease runs out, then a dispatcher sends it: once.
    """
    row = work_due(alice)
    with hanging_smtp() as (hanging, entered):
        process = subprocess.Popen(
            [sys.executable, "-m", "reputable.cli", "dispatch"],
            env=subprocess_env(EMAIL_URL=hanging.url, DJANGO_SETTINGS_MODULE="reputable.dispatch.tests.settings"),
        )
        assert entered.wait(timeout=60), "the dispatcher never reached SMTP DATA"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    claimed = row()
    assert claimed.claimed_until is not None
    assert (claimed.status, claimed.attempts) == ("pending", 0)
    dispatcher = Command()
    assert dispatcher.handle_one() is False  # the lease still holds

    with time_machine.travel(claimed.claimed_until + dt.timedelta(seconds=1), tick=False):
        assert dispatcher.handle_one() is True

    done = row()
    assert done.claimed_until is None
    assert done.status in ("pending", "done")  # an invitation waits for its reminder
    assert len(smtp.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_the_loop_stops_cleanly_on_sigterm(alice: ShopAccess, smtp: SmtpSink) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "reputable.cli", "dispatch", "--loop"],
        env=subprocess_env(EMAIL_URL=smtp.url, DISPATCH_IDLE_SECONDS="0.2"),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    assert "dispatcher: running" in process.stderr.readline()

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    assert "dispatcher: stopped" in process.stderr.read()
