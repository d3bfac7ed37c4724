"""`/connectors/<key>/`: where the platforms deliver their webhooks.

The signature on the raw body is checked before anything else is read; a delivery without a
valid one answers 401 and stores nothing. A verified one answers 2xx whatever it held (an
unknown topic, an order without address), so that the platform does not retry what a retry
cannot mend nor switch the webhook off; the delivery log tells the merchant what happened.
"""

import logging

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reputable.integrations.actions import take
from reputable.integrations.models import Connector, Delivery
from reputable.integrations.platforms import Unreadable, Webhooks, platform_of
from reputable.lib import sql
from reputable.shops.models import Shop

log = logging.getLogger("reputable.integrations")

_CONNECTOR = sql.Select(Connector, "c")
# The logo's bytes are not read by a delivery (loaded if ever read, as with defer()).
_SHOP = sql.Select(Shop, "s", defer=["logo_png"])


def connector_by_key(key: str) -> Connector:
    """The connector of a delivery URL with its shop; 404 for none. In plain SQL, as the
    events API finds its key's shop: it runs on every delivery (see reputable.lib.sql)."""
    with connection.cursor() as cursor:
        rows = sql.Statements(cursor).fetch(
            f"SELECT {_CONNECTOR.columns}, {_SHOP.columns} FROM {sql.table(Connector)} c"
            f" JOIN {sql.table(Shop)} s ON s.id = c.shop_id WHERE c.key = %s",
            [key],
        )
    if not rows:
        raise Http404
    split = len(_CONNECTOR.fields)
    connector: Connector = _CONNECTOR.instance(rows[0][:split])
    connector.shop = _SHOP.instance(rows[0][split:])
    return connector


@csrf_exempt  # signed by the platform instead
@require_POST
def receive(request: HttpRequest, key: str) -> HttpResponse:
    connector = connector_by_key(key)
    platform = platform_of(connector)
    if not isinstance(platform, Webhooks):
        return JsonResponse({"error": "this connector pulls; it takes no webhooks"}, status=404)
    if not platform.verify(connector, request):
        log.warning("connector %s: a delivery without a valid signature was refused", connector.pk)
        return JsonResponse({"error": "invalid or missing signature"}, status=401)
    if connector.is_paused:
        log.info("connector %s is paused: a delivery was dropped", connector.pk)
        return JsonResponse({"status": "paused"})
    try:
        received = platform.read(connector, request)
    except Unreadable as error:
        Delivery.objects.create(
            connector=connector,
            topic=error.topic[:100] or "unreadable",
            outcome=Delivery.Outcome.FAILED,
            message=str(error)[:2000],
        )
        return JsonResponse({"status": "failed", "message": str(error)})
    if received.response is not None and not received.orders:
        # The platform's handshake (WooCommerce's ping when a webhook is saved), not a delivery:
        # answered as the platform wants, and not logged, since it may come unsigned.
        return received.response
    delivery = take(connector=connector, received=received)
    if received.response is not None:
        return received.response
    if delivery is None:
        return JsonResponse({"status": "duplicate"})
    return JsonResponse({"status": delivery.outcome, "events": delivery.events})
