"""What webhook messages hold about a person, for erasure (requests and retention alike).

A message's data is what the shop's own systems get of a change: order references, review
texts, a reviewer's private message. A reviewer may have written their address into a text:
where a message still holds an erased address, it is replaced, as in the reviews themselves.
"""

import re

from reputable.privacy.actions import register_eraser
from reputable.reviews.actions import REDACTED
from reputable.shops.models import Shop
from reputable.webhooks.models import Message


def erase(shop: Shop, addresses: set[str], transaction_ids: list[int]) -> None:
    if not addresses:
        return
    pattern = re.compile("|".join(re.escape(a) for a in sorted(addresses)), re.IGNORECASE)
    for message in Message.objects.filter(shop=shop, body__contains="@").only("pk", "body"):
        scrubbed = pattern.sub(REDACTED, message.body)
        if scrubbed != message.body:
            Message.objects.filter(pk=message.pk).update(body=scrubbed)


register_eraser(erase)
