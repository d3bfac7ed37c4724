"""Connectors through the API: `/api/v1/connectors` and each connector's delivery log.

A connector's secret is in the answer to its creation and nowhere else; no answer carries a
Magento access token. Each endpoint calls one action of reputable.integrations.actions; what
the domain refuses is a 422 naming the field.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from reputable.dashboard.paging import api_position, keyset_page
from reputable.integrations import actions, shopware
from reputable.integrations.models import Connector, Delivery, Platform
from reputable.integrations.platforms import delivery_url, platform_of
from reputable.lib.api import ApiError, ErrorOut, refused
from reputable.lib.text import Line
from reputable.shops.access import connector_of, shop_of
from reputable.shops.models import Shop

router = Router(tags=["connectors"])

# How far back `recent_failures` counts.
RECENT = dt.timedelta(days=7)


class ConnectorIn(Schema):
    platform: str = Field(description="`shopify`, `woocommerce`, `shopware6` or `magento2`")
    secret: str = Field(
        default="",
        description="Shopify: the webhook signing secret Shopify shows (required). The others: made here unless given.",
    )
    base_url: str = Field(default="", description="Magento 2 (required): the shop's base URL")
    access_token: str = Field(default="", description="Magento 2 (required): the integration's access token")


class ConnectorPatch(Schema):
    status: str | None = Field(default=None, description="`active` or `paused`")
    mapping: dict[str, str] | None = Field(
        default=None,
        description='Stage → event type key, or `""` to ignore the stage; replaces the previous mapping,'
        " stages not named keep the platform's default",
    )


class ConnectorOut(Schema):
    id: int
    platform: str
    status: str = Field(description="`active`, `paused`, or `failed` (a pull that gave up; resume it)")
    url: str | None = Field(
        description="Where the platform delivers its webhooks (paste it there); null for Magento 2, which is pulled"
    )
    base_url: str = Field(description="Magento 2: the shop pulled from; empty for the others")
    mapping: dict[str, str] = Field(
        description='Each stage of the platform and the event type it records (`""`: ignored)'
    )
    created_at: dt.datetime
    last_delivery_at: dt.datetime | None
    recent_failures: int = Field(description="Failed deliveries in the last 7 days")
    last_error: str = Field(description="Magento 2: why the last pull failed; empty when it did not")
    next_pull_at: dt.datetime | None = Field(description="Magento 2: when it is pulled next")


class ConnectorCreatedOut(ConnectorOut):
    secret: str = Field(description="The signing secret: shown in this answer only")


class DeliveryOut(Schema):
    id: int
    received_at: dt.datetime
    topic: str
    outcome: str = Field(description="`recorded`, `ignored` or `failed`")
    references: list[str] = Field(description="The order references it concerned")
    events: int = Field(description="The events it recorded")
    message: str = Field(description="What was not taken, and why")


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilters(Schema):
    cursor: Line | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


def connector_out(connector: Connector) -> dict[str, Any]:
    """A connector as the API and the dashboard show it (from `with_activity()`)."""
    return {
        **{f: getattr(connector, f) for f in ("id", "platform", "status", "base_url", "created_at")},
        **{f: getattr(connector, f) for f in ("last_delivery_at", "recent_failures", "last_error", "next_pull_at")},
        "url": delivery_url(connector),
        "mapping": platform_of(connector).mapping(connector),
    }


def _connectors(shop: Shop) -> Any:
    return Connector.objects.filter(shop=shop).with_activity(since=timezone.now() - RECENT)


def _refused(error: actions.Refused) -> ApiError:
    return refused(error.fields)


@router.post(
    "/connectors",
    response={201: ConnectorCreatedOut, 422: ErrorOut},
    summary="Connect a shop system",
    description="The answer carries the signing secret, once: set it in the platform (WooCommerce's and "
    "Shopware's) or keep it (Shopify's, as given). Webhook platforms deliver to `url`; Magento 2 is pulled "
    "by the dispatcher with `base_url` and `access_token`.",
)
def create_connector(request: HttpRequest, payload: ConnectorIn) -> Status[dict[str, Any]]:
    shop = shop_of(request)
    try:
        connector = actions.create_connector(shop=shop, **payload.dict())
    except actions.Refused as error:
        raise _refused(error) from None
    return Status(201, {**connector_out(_connectors(shop).get(pk=connector.pk)), "secret": connector.secret})


@router.get("/connectors", response=list[ConnectorOut], summary="The shop's connectors")
def list_connectors(request: HttpRequest) -> list[dict[str, Any]]:
    return [connector_out(c) for c in _connectors(shop_of(request))]


@router.get("/connectors/{connector_id}", response={200: ConnectorOut, 404: ErrorOut}, summary="A connector")
def get_connector(request: HttpRequest, connector_id: int) -> dict[str, Any]:
    connector = connector_of(shop_of(request), connector_id)
    return connector_out(_connectors(connector.shop).get(pk=connector.pk))


@router.patch(
    "/connectors/{connector_id}",
    response={200: ConnectorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Pause, resume or remap a connector",
    description="A paused connector answers its platform's deliveries and drops them; a resumed Magento 2 "
    "connector is pulled at once.",
)
def update_connector(request: HttpRequest, connector_id: int, payload: ConnectorPatch) -> dict[str, Any]:
    connector = connector_of(shop_of(request), connector_id)
    try:
        actions.change_connector(connector=connector, status=payload.status, mapping=payload.mapping)
    except actions.Refused as error:
        raise _refused(error) from None
    return connector_out(_connectors(connector.shop).get(pk=connector.pk))


@router.delete(
    "/connectors/{connector_id}",
    response={204: None, 404: ErrorOut},
    summary="Delete a connector and its delivery log",
    description="Its URL stops taking deliveries at once; the events it recorded stay.",
)
def delete_connector(request: HttpRequest, connector_id: int) -> Status[None]:
    connector_of(shop_of(request), connector_id).delete()
    return Status(204, None)


@router.get(
    "/connectors/{connector_id}/shopware-app",
    response={200: None, 404: ErrorOut},
    summary="A Shopware 6 connector's app (a zip)",
    description="`Reputable/manifest.xml`, with the connector's registration URL, app secret and webhooks: upload "
    "it under Extensions → My extensions, or unpack it into `custom/apps/` and run "
    "`bin/console app:install --activate Reputable`.",
    openapi_extra={"responses": {200: {"description": "The app", "content": {"application/zip": {}}}}},
)
def shopware_app(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = connector_of(shop_of(request), connector_id)
    if connector.platform != Platform.SHOPWARE6:
        raise ApiError(404, "not_found", "this connector is not a Shopware 6 connector")
    return shopware.app_download(connector)


@router.get(
    "/connectors/{connector_id}/deliveries",
    response={200: DeliveryPage, 404: ErrorOut, 422: ErrorOut},
    summary="What a connector received, newest first",
    description="Follow `next_cursor` (pass it as `cursor`) for the next page.",
)
def list_deliveries(request: HttpRequest, connector_id: int, filters: Query[DeliveryFilters]) -> dict[str, Any]:
    connector = connector_of(shop_of(request), connector_id)
    position = api_position(filters.cursor)
    found = keyset_page(connector.deliveries.all(), "id", position, filters.limit)
    by_id = Delivery.objects.in_bulk(found.keys)
    return {"items": [by_id[pk].as_log() for pk in found.keys], "next_cursor": found.older}
