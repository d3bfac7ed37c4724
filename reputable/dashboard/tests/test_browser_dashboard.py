"""The dashboard in a real headless Chromium: a merchant's journey from sign-up to answering a
review in public and in private, a responder's journey by keyboard alone, and a walk over every
page of a shop's dashboard.

Each page a session remembers is checked by axe-core at desktop and phone widths, as that
session sees it; every session enforces the pages' Content-Security-Policy and fails on any
console error (a CSP violation is one). Mail goes over SMTP to an aiosmtpd sink on loopback and
is sent by the dispatcher (`run_dispatcher`) between the steps, as `reputable dispatch` would.
"""

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.urls import resolve
from django.utils import timezone

from reputable.conftest import (
    PASSWORD,
    ShopAccess,
    SmtpSink,
    Team,
    checkout,
    join,
    person,
    run_dispatcher,
    write_review,
)
from reputable.invitations.actions import suppress_address
from reputable.invitations.models import Suppression
from reputable.moderation.actions import open_dispute
from reputable.reviews.actions import reply_to_review, write_to_reviewer, write_to_shop
from reputable.reviews.models import Reply, ReplyTemplate, Review
from reputable.shops.actions import invite_to_team
from reputable.tests.browser import axe_violations, require_chromium
from reputable.webhooks.actions import create_endpoint
from reputable.webhooks.models import Attempt, Delivery, Message

require_chromium()

from playwright.sync_api import Browser, Page, Response, ViewportSize, expect  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


class Session:
    """One browser session, its problems (console errors, CSP reports) and what axe found on the
    pages it remembered."""

    def __init__(self, browser: Browser, base: str, *, viewport: ViewportSize = DESKTOP) -> None:
        self.base = base
        self.context = browser.new_context(locale="en-GB", viewport=viewport)
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("response", self.check_policy)
        # Each question a page asks before an irreversible step is answered yes.
        self.page.on("dialog", lambda dialog: dialog.accept())
        # axe sets style attributes as it measures, which the pages' CSP refuses: it looks at
        # the pages from a context of its own that bypasses CSP (this session's enforces it).
        self.auditor = browser.new_context(locale="en-GB", viewport=DESKTOP, bypass_csp=True)
        self.audit_page = self.auditor.new_page()
        self.audit_page.set_default_timeout(15_000)
        self.seen: list[str] = []
        self.violations: list[str] = []

    def check_policy(self, response: Response) -> None:
        """Every document of ours comes with a Content-Security-Policy that allows no inline code."""
        if response.request.resource_type == "document" and response.url.startswith(self.base) and response.ok:
            policy = response.headers.get("content-security-policy", "")
            if not policy or "'unsafe-inline'" in policy:
                self.problems.append(f"{response.url}: Content-Security-Policy {policy!r}")

    def log_in(self, user: Any) -> None:
        """Logged in as `user`, without the login page (its password takes a second to check)."""
        client = Team.client(user)
        cookie = settings.SESSION_COOKIE_NAME
        self.context.add_cookies([{"name": cookie, "value": client.cookies[cookie].value, "url": self.base}])

    def goto(self, path: str) -> None:
        open_page(self.page, self.base + path)

    def remember(self) -> None:
        """axe checks this page now (once), as this session sees it."""
        url = self.page.url
        if url not in self.seen:
            self.seen.append(url)
            self.audit(lambda page: open_page(page, url))

    def audit(self, visit: Callable[[Page], None]) -> None:
        """axe's violations on the page that `visit` opens with this session's cookies, at desktop
        and at phone width, into `violations`."""
        self.auditor.clear_cookies()
        self.auditor.add_cookies(self.context.cookies())  # type: ignore[arg-type]  # the cookies, as read
        page = self.audit_page
        page.set_viewport_size(DESKTOP)
        visit(page)
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            self.violations += [f"{viewport['width']}px {line}" for line in axe_violations(page.main_frame)]

    def close(self) -> None:
        self.auditor.close()
        self.context.close()


def open_page(page: Page, url: str) -> None:
    answer = page.goto(url)
    assert answer is not None and answer.ok, (url, answer and answer.status)


def assert_accessible(*sessions: Session) -> None:
    """No console error or CSP report in the sessions, and no violation axe found."""
    for session in sessions:
        assert session.problems == []
        assert session.violations == [], "\n".join(session.violations)


@pytest.fixture
def open_session(browser: Browser, live_server: Any) -> Iterator[Any]:
    sessions: list[Session] = []

    def open_one(**options: Any) -> Session:
        session = Session(browser, live_server.url, **options)
        sessions.append(session)
        return session

    yield open_one
    for session in sessions:
        session.close()


def body_of(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: Any, pattern: str) -> str:
    text = body_of(message)
    found = re.search(pattern, text)
    assert found, text
    return found[0]


def path_of(url: str) -> str:
    """The path of a link in an email (which names the configured BASE_URL, not the live server)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def mail_to(smtp: SmtpSink, to: str, containing: str) -> list[Any]:
    """The messages sent to `to` whose subject or text contains `containing`."""
    return [m for m in smtp.messages if m["To"] == to and (containing in m["Subject"] or containing in body_of(m))]


def section(session: Session, name: str) -> None:
    """Open a section of the shop's dashboard from its navigation."""
    session.page.get_by_role("navigation", name=re.compile("^Dashboard of")).get_by_role("link", name=name).click()
    session.page.wait_for_load_state()
    session.remember()


def post_event(live_server: Any, key: str, reference: str) -> dict[str, Any]:
    """A checkout as the shop's system reports it, through the API of the live server."""
    event = checkout(
        reference,
        transaction={"reference": reference, "date": timezone.now().isoformat()},
        customer={"email": "jan@example.nl", "first_name": "Jan", "last_name": "Visser", "locale": "en"},
    )
    request = urllib.request.Request(
        live_server.url + "/api/v1/events",
        data=json.dumps(event).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # the live server, on loopback
        return {"status": answer.status, **json.load(answer)}


def sign_up(session: Session, smtp: SmtpSink, dispatcher: Any, email: str) -> None:
    session.goto("/accounts/signup/")
    session.remember()
    session.page.get_by_label("Email").fill(email)
    session.page.get_by_label("Password:", exact=True).fill(PASSWORD)
    session.page.get_by_label("Password (again)").fill(PASSWORD)
    session.page.get_by_role("button", name="Sign Up").click()
    session.page.wait_for_url("**/accounts/confirm-email/")
    session.remember()
    assert smtp.messages == []  # nothing is sent in the request
    run_dispatcher(dispatcher)
    (verification,) = smtp.messages
    assert verification["To"] == email
    session.goto(path_of(link_in(verification, r"http://\S+/accounts/confirm-email/\S+")))
    session.remember()
    session.page.get_by_role("button", name="Confirm").click()


def test_a_merchant_signs_up_invites_a_customer_and_answers_the_review_in_public_and_in_private(
    open_session: Any, smtp: SmtpSink, dispatcher: Any, live_server: Any
) -> None:
    # 1. Sign up, verify the address, open the shop.
    alice = open_session()
    sign_up(alice, smtp, dispatcher, "alice@alice-teas.example")
    page = alice.page
    page.wait_for_url("**/dashboard/**")
    alice.remember()
    page.get_by_role("link", name="Open a shop").click()
    alice.remember()
    page.get_by_label("Shop name").fill("Alice Teas")
    page.get_by_label("Website").fill("https://alice-teas.example")
    page.get_by_label("Country (for public holidays)").select_option("DE")
    page.get_by_label("Default language").select_option("de")
    page.get_by_role("button", name="Open the shop").click()
    key = page.locator("#api-key").inner_text().strip()
    assert len(key) > 30
    page.get_by_role("link", name="Go to the dashboard").click()
    page.wait_for_url("**/dashboard/alice-teas/")
    alice.remember()

    # 2. A rule that invites right after the order, its sentence following the form as it changes.
    section(alice, "Rules")
    expect(page.locator("#type-checkout")).to_contain_text("7 days after the order; 1 reminder 7 days later")
    page.get_by_role("link", name="Add a rule for “Checkout”").click()
    alice.remember()
    sentence = page.locator("#rule-preview .sentence")
    expect(sentence).to_have_text("7 days after the order; 1 reminder 7 days later")
    page.get_by_label("Delay in", exact=True).select_option("minutes")
    expect(sentence).to_have_text("7 minutes after the order; 1 reminder 7 days later")
    page.get_by_label("Delay", exact=True).fill("0")
    page.get_by_label("Delay", exact=True).blur()
    expect(sentence).to_have_text("Right after the order; 1 reminder 7 days later")
    page.get_by_label("Active", exact=True).check()
    page.get_by_label(re.compile(r"^Replace the active rule")).check()
    page.get_by_role("button", name="Save the rule").click()
    page.wait_for_url("**/rules#type-checkout")
    expect(page.get_by_role("status")).to_contain_text("The rule is saved: Right after the order")
    active = page.locator("#type-checkout tr", has=page.locator(".status", has_text=re.compile("^active$")))
    expect(active).to_contain_text("Right after the order; 1 reminder 7 days later")

    # 3. The invitation's English wording, its preview, a test sent to herself.
    section(alice, "Emails")
    page.get_by_role("link", name="Invitation (English)").click()
    alice.remember()
    subject = page.get_by_label("Subject")
    subject.fill("Your tea from {shop_name}: how was it?")
    subject.blur()
    expect(page.locator("#email-preview .preview-subject")).to_have_text("Your tea from Alice Teas: how was it?")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("The wording is saved")
    expect(page.get_by_text("Your own wording is in use.")).to_be_visible()
    page.get_by_role("button", name="Send a test to alice@alice-teas.example").click()
    expect(page.get_by_role("status")).to_contain_text("A test message is on its way to alice@alice-teas.example")
    run_dispatcher(dispatcher)
    (test_message,) = mail_to(smtp, "alice@alice-teas.example", "Your tea from Alice Teas")
    assert "thank you for your order" in body_of(test_message)

    # 4. The shop system reports an order; the dispatcher sends the invitation at once.
    answer = post_event(live_server, key, "T-1001")
    assert answer["status"] == 202, answer
    section(alice, "Invitations")
    order = page.get_by_role("row", name=re.compile("T-1001"))
    expect(order).to_contain_text("jan@example.nl")
    expect(order.locator(".status")).to_have_text("Scheduled")
    run_dispatcher(dispatcher)
    (invitation,) = mail_to(smtp, "jan@example.nl", "Your tea from Alice Teas: how was it?")
    order.get_by_role("link", name="T-1001").click()
    alice.remember()
    expect(page.locator("#invitation-heading + p .status")).to_have_text("Sent")
    expect(page.locator("#invitation-heading ~ .pipeline-facts")).to_contain_text("jan@example.nl (en)")
    page.get_by_role("link", name="All invitations").click()
    expect(page.get_by_role("row", name=re.compile("T-1001")).locator(".status")).to_have_text("Sent")

    # 5. The customer, in a browser of his own, follows the link and reviews the order.
    jan = open_session()
    jan.goto(path_of(link_in(invitation, r"https?://\S+/r/[\w-]+")))
    jan.remember()
    stars = jan.page.get_by_role("group", name=re.compile("^Your overall rating of the shop"))
    stars.locator("label").nth(1).click()  # 2 stars
    jan.page.get_by_label("Title").fill("Tea arrived cold")
    jan.page.get_by_label("Your review").fill("The parcel sat in the rain for a day.")
    jan.page.get_by_role("button", name="Publish my review").click()
    jan.page.wait_for_url("**?saved=1")
    expect(jan.page.get_by_role("status")).to_contain_text("Thank you! Your review is published.")
    jan.remember()
    assert Review.objects.values_list("rating", "transaction__reference").get() == (2, "T-1001")

    # 6. Alice finds it in her inbox and answers in public; the profile shows the answer.
    section(alice, "Reviews")
    review = page.get_by_role("article", name="Tea arrived cold")
    expect(review).to_contain_text("The parcel sat in the rain for a day.")
    expect(review.locator(".status")).to_have_text("Not replied yet")
    review.get_by_role("link", name="Reply").click()
    alice.remember()
    page.get_by_label("Your public reply").fill("We are sorry, Jan: a new parcel is on its way.")
    page.get_by_role("button", name="Publish the reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply is published.")
    review_page = page.url
    page.get_by_role("link", name="All reviews").click()
    expect(page.get_by_role("article", name="Tea arrived cold").locator(".status")).to_have_text("Replied")
    alice.goto("/s/alice-teas/")
    alice.remember()
    expect(page.locator(".review-reply")).to_contain_text("We are sorry, Jan: a new parcel is on its way.")
    run_dispatcher(dispatcher)
    assert mail_to(smtp, "jan@example.nl", "replied")

    # 7. A private message; the reviewer answers through the link in his email.
    page.goto(review_page)
    page.get_by_label("Your message to the reviewer").fill("Could you tell us your new address?")
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("status")).to_contain_text("Your message is on its way to the reviewer.")
    run_dispatcher(dispatcher)
    (relayed,) = [m for m in smtp.messages if m["To"] == "jan@example.nl" and "Could you tell us" in body_of(m)]
    assert "alice@alice-teas.example" not in relayed.as_string()
    jan.goto(path_of(link_in(relayed, r"https?://\S+/r/[\w-]+/messages")))
    jan.remember()
    expect(jan.page.locator(".thread")).to_contain_text("Could you tell us your new address?")
    jan.page.get_by_label("Your answer to Alice Teas").fill("Of course: Teestraße 1, Berlin.")
    jan.page.get_by_role("button", name="Send my answer").click()
    expect(jan.page.get_by_role("status")).to_contain_text("Your answer was sent to Alice Teas.")
    run_dispatcher(dispatcher)
    assert mail_to(smtp, "alice@alice-teas.example", "Of course: Teestraße 1, Berlin.")
    page.reload()
    thread = page.locator("#messages .thread li")
    expect(thread).to_have_count(2)
    expect(thread.nth(1)).to_contain_text("Of course: Teestraße 1, Berlin.")
    alice.goto("/s/alice-teas/")
    expect(page.locator(".review-contacted")).to_contain_text("The shop contacted the reviewer on")

    assert_accessible(alice, jan)


# --- by keyboard alone ---------------------------------------------------------------------------

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e), box = e.getBoundingClientRect();
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
  const onScreen = box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight;
  return {
    id: e.id, tag: e.tagName.toLowerCase(), text: (e.innerText || e.value || "").trim().slice(0, 80),
    article: e.closest("article")?.getAttribute("aria-labelledby") || "",
    visible: ring && onScreen,
  };
}"""


def press_until(session: Session, wanted: Any, key: str = "Tab", limit: int = 60) -> dict[str, Any]:
    """Press `key` until the focused element is `wanted` (a predicate of its description);
    each element focused on the way shows that it has the focus."""
    for _step in range(limit):
        session.page.keyboard.press(key)
        focused = session.page.evaluate(FOCUSED)
        assert focused is not None, "the focus left the page"
        assert focused["visible"], f"the focus is not visible on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError(f"{limit} times {key} never reached the element wanted")


def test_a_responder_logs_in_and_replies_to_a_review_by_keyboard_alone(alice: ShopAccess, open_session: Any) -> None:
    bob = person("bob@alice-teas.example")
    join(alice.shop, bob, "responder")
    review = write_review(alice, "A-1", 2, title="Cold tea", body="It arrived cold.")
    write_review(alice, "A-2", 5, title="Lovely tea")
    ReplyTemplate.objects.create(shop=alice.shop, name="Apology", body="We are sorry, {first_name}.")
    ReplyTemplate.objects.create(shop=alice.shop, name="New parcel", body="A new parcel is on its way, {first_name}.")
    session = open_session()
    page = session.page
    session.goto("/accounts/login/")
    session.remember()

    press_until(session, lambda f: f["id"] == "id_login")
    page.keyboard.type("bob@alice-teas.example")
    press_until(session, lambda f: f["id"] == "id_password")
    page.keyboard.type(PASSWORD)
    press_until(session, lambda f: f["id"] == "id_remember")
    page.keyboard.press("Space")
    assert page.get_by_label("Remember Me").is_checked()
    press_until(session, lambda f: f["text"] == "Sign In")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/alice-teas/")

    press_until(session, lambda f: f["text"] == "Reviews")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/alice-teas/reviews")
    session.remember()
    press_until(session, lambda f: f["text"] == "Reply" and f["article"] == f"review-{review.pk}-title")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/reviews/{review.pk}#reply")
    session.remember()

    reply = page.get_by_label("Your public reply")
    press_until(session, lambda f: f["id"] == "id_body")
    page.keyboard.type("Thank you for telling us.")
    press_until(session, lambda f: f["id"] == "reply-template")
    page.keyboard.press("ArrowDown")  # from the first saved reply (by name) to the second
    expect(page.locator("#reply-template option:checked")).to_have_text("New parcel")
    press_until(session, lambda f: f["text"] == "Insert into the reply")
    page.keyboard.press("Space")  # htmx puts the saved reply into the text, nothing is stored
    expect(reply).to_have_value("Thank you for telling us.\n\nA new parcel is on its way, Jan.")
    press_until(session, lambda f: f["id"] == "id_body", key="Shift+Tab")
    page.keyboard.press("Control+End")
    page.keyboard.type(" Enjoy it!")
    press_until(session, lambda f: f["text"] == "Publish the reply")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Your reply is published.")
    session.remember()
    text = "Thank you for telling us.\n\nA new parcel is on its way, Jan. Enjoy it!"
    assert Reply.objects.get(review=review).body == text
    expect(page.locator(".review-reply")).to_contain_text("A new parcel is on its way, Jan. Enjoy it!")
    assert_accessible(session)


# --- every page of the dashboard, checked by axe ---------------------------------------------------


def shop_with_everything(alice: ShopAccess) -> tuple[Any, Review]:
    """Alice's shop with something on each page: a team, reviews (one replied to, one with a
    private conversation, one disputed), saved replies, an invitation, a suppression, a team
    invitation."""
    owner = person("alice@alice-teas.example")
    join(alice.shop, owner, "owner")
    join(alice.shop, person("bob@alice-teas.example"), "viewer")
    now = timezone.now()
    cold = write_review(
        alice, "A-1", 2, title="Cold tea", body="It arrived cold.", products={"TEA-1": (3, "Too bitter.")}
    )
    reply_to_review(review=cold, body="We are sorry: a new parcel is on its way.", author=owner, now=now)
    write_to_reviewer(review=cold, body="Could you tell us your address?", author=owner, now=now)
    cold.refresh_from_db()  # contacted now
    write_to_shop(review=cold, body="Of course: Teestraße 1, Berlin.", now=now)
    write_review(alice, "A-2", 5, title="Lovely tea", body="Quick and well packed.")
    open_dispute(
        review=cold,
        user=owner,
        reason="false_fact",
        passage="arrived cold",
        explanation="The tea left our warehouse hot and sealed.",
        good_faith=True,
        now=now,
    )
    assert alice.post("/api/v1/events", checkout("A-3")).status_code == 202  # invited, no review yet
    ReplyTemplate.objects.create(shop=alice.shop, name="Thanks", body="Thank you, {first_name}!")
    suppress_address(email="gone@example.nl", reason=Suppression.Reason.MANUAL, shop=alice.shop)
    invite_to_team(shop=alice.shop, email="carol@alice-teas.example", role="manager", invited_by=owner, language="en")
    # A webhook endpoint with a failed delivery and its try, for the endpoint's page and its log.
    endpoint = create_endpoint(
        shop=alice.shop,
        url="https://crm.alice-teas.example/hooks",
        event_types=["review.created"],
        description="CRM",
        now=now,
    )
    sent = Message.objects.create(shop=alice.shop, uid="msg_axe", event_type="review.created", body='{"data":{}}')
    failed = Delivery.objects.create(
        endpoint=endpoint,
        message=sent,
        status=Delivery.Status.FAILED,
        tries=1,
        response_status=500,
        response_body="<h1>Oops</h1>",
        duration_ms=12,
    )
    Attempt.objects.create(delivery=failed, at=now, response_status=500, response_body="<h1>Oops</h1>", duration_ms=12)
    return owner, cold


# Links the walk does not follow: they leave the dashboard or end the session.
NOT_WALKED = re.compile(r"^/accounts/(logout|login|signup)/")


def test_every_page_of_the_dashboard_passes_axe_at_both_widths(
    alice: ShopAccess, open_session: Any, live_server: Any, smtp: SmtpSink, dispatcher: Any
) -> None:
    owner, cold = shop_with_everything(alice)
    session = open_session()
    session.log_in(owner)

    # The sections are read from the page's own navigation: a new section is walked too. So are
    # the pages they link to, of the dashboard and of the account, one page per URL name.
    session.goto("/dashboard/alice-teas/")
    nav = session.page.get_by_role("navigation", name="Dashboard of Alice Teas").get_by_role("link")
    sections = [urlsplit(link.get_attribute("href") or "").path for link in nav.all()]
    assert len(sections) >= 9, sections
    walked = {resolve(path).url_name for path in sections}
    todo = list(sections)
    while todo:
        path = todo.pop(0)
        session.goto(path)
        session.remember()
        for href in session.page.eval_on_selector_all(
            "main a[href], header a[href]", "(links) => links.map((a) => a.getAttribute('href'))"
        ):
            link = urlsplit(href)
            if (
                link.netloc
                or not link.path.startswith(("/dashboard/alice-teas/", "/accounts/"))
                or NOT_WALKED.match(link.path)
            ):
                continue
            name = resolve(link.path).url_name
            if name not in walked:
                walked.add(name)
                todo.append(link.path)
    # The review with everything on its page (the walk took the newest one's), and pages no page
    # links to: the conversation on a page of its own (where the thread's form shows what it
    # refused); the pages the team's emails link to (joining the team, leaving a kind of
    # notification); the new API key (shown once, after it is made).
    for path in (f"/dashboard/alice-teas/reviews/{cold.pk}", f"/dashboard/alice-teas/reviews/{cold.pk}/messages"):
        session.goto(path)
        session.remember()
    run_dispatcher(dispatcher)
    (invited,) = mail_to(smtp, "carol@alice-teas.example", "/dashboard/join/")
    notified = mail_to(smtp, "alice@alice-teas.example", "/dashboard/notifications/unsubscribe/")
    assert notified, [m["Subject"] for m in smtp.messages]
    visitor = open_session()
    visitor.goto(path_of(link_in(invited, r"https?://\S+/dashboard/join/\S+")))
    visitor.remember()
    visitor.goto(path_of(link_in(notified[0], r"https?://\S+/dashboard/notifications/unsubscribe/\S+")))
    visitor.remember()

    def make_a_key(page: Page) -> None:
        open_page(page, live_server.url + "/dashboard/alice-teas/settings/api-keys")
        page.get_by_label("Name").fill("Shop system")
        page.get_by_role("button", name="Make the key").click()
        expect(page.get_by_label("The key")).to_have_value(re.compile("^rpk_"))

    make_a_key(session.page)  # under the page's CSP, as the walk's other pages
    session.audit(make_a_key)

    assert {
        "dashboard-review",
        "dashboard-transaction",
        "dashboard-rule",
        "dashboard-template",
        "dashboard-webhook",
    } <= walked
    assert_accessible(session, visitor)
