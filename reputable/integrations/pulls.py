"""Pull connectors as the dispatcher's due work: each step reads one page of a platform's orders.

A pull connector is due at `next_pull_at`. A step asks the platform for the page after its
cursor (through the one outbound client, so a base URL cannot reach the machine or its
network), records the page's orders as a webhook's are recorded (`actions.take`, which logs
the page as a delivery), and then stores the cursor past it. A full page makes the connector
due again at once; a short one means it has caught up, and it is due again after
`MAGENTO_PULL_INTERVAL` seconds.

Failures are the dispatcher's: a network error or a 5xx is retried with back-off, and after
DISPATCH_MAX_ATTEMPTS the connector is `failed` until the merchant resumes it. An answer no
retry can mend (the token refused, no such API, a redirect) fails it at once. Either way
`last_error` says why, in the API and on the dashboard.
"""

import datetime as dt
import logging
from typing import Any

import httpx
from django.conf import settings

from reputable.dispatch.work import LeasedKind, Permanent, register
from reputable.integrations.actions import take
from reputable.integrations.magento import PAGE_SIZE, Cursor, Magento2
from reputable.integrations.models import Connector
from reputable.integrations.platforms import platform_of
from reputable.lib import outbound

log = logging.getLogger("reputable.integrations")

MAX_BODY = 300  # characters of a refusal's body kept in the error


class PullFailed(Exception):
    """The platform could not be read this time: retried with back-off."""


@register
class Pulls(LeasedKind):
    """The pull connectors whose next pull has come, the longest waiting first."""

    name = "connector-pulls"
    model = Connector
    batch_size = 5
    related = ("shop",)

    def perform(self, item: Connector, now: dt.datetime) -> None:
        platform = platform_of(item)
        if not isinstance(platform, Magento2):  # pragma: no cover - Magento is the one pull platform
            raise Permanent(f"{item.platform} is not pulled")
        cursor = Cursor.of(item)
        orders = platform.page(self.fetch(item, platform.url(item), cursor.query()))
        if orders:
            take(connector=item, received=platform.received(orders))
        moved = cursor.after(orders)
        state = {**item.state, "cursor": moved.as_json()}
        if not Connector.objects.filter(pk=item.pk, claim_id=item.claim_id).update(state=state):
            log.info("connector %s: the claim was lost during a pull", item.pk)
        item.state = state
        # A full page: more may wait, due again at once; else caught up until the next interval.
        caught_up = len(orders) < PAGE_SIZE
        item.next_pull_at = now + dt.timedelta(seconds=settings.MAGENTO_PULL_INTERVAL) if caught_up else now

    @staticmethod
    def fetch(item: Connector, url: str, params: dict[str, str]) -> Any:
        headers = {"Authorization": f"Bearer {item.access_token}", "Accept": "application/json"}
        try:
            with outbound.client(headers=headers) as http:
                response = http.get(url, params=params)
        except outbound.Blocked as blocked:
            raise Permanent(f"the base URL may not be called from here: {blocked}") from None
        except httpx.HTTPError as error:
            raise PullFailed(f"the shop could not be reached: {error or type(error).__name__}") from None
        status = response.status_code
        said = " ".join(response.text[:MAX_BODY].split())
        if status in (401, 403):
            raise Permanent(f"Magento refused the access token ({status}): {said}")
        if status == 404:
            raise Permanent(f"no Magento REST API at {url} (404): check the base URL")
        if 300 <= status < 400:
            where = response.headers.get("Location", "")
            raise Permanent(f"Magento answered {status} (a redirect to {where!r}): set the base URL to where it points")
        if status != 200:
            raise PullFailed(f"Magento answered {status}: {said}")
        try:
            return response.json()
        except ValueError:
            raise PullFailed(f"the answer is not JSON: {said}") from None

    def record_done(self, item: Connector, now: dt.datetime) -> None:
        Connector.objects.filter(pk=item.pk, claim_id=item.claim_id).update(
            next_pull_at=item.next_pull_at, attempts=0, last_error="", claimed_until=None, claim_id=""
        )
