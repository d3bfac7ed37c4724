"""The shop's own settings and API keys: `/api/v1/shop`, `/api/v1/api-keys`."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from reputable.lib.api import Email, ErrorOut, invalid, model_invalid
from reputable.lib.text import Line
from reputable.shops import actions
from reputable.shops.access import api_key_of, shop_of
from reputable.shops.models import ApiKey, Shop

router = Router(tags=["shop"])


class ShopOut(Schema):
    name: str
    slug: str
    country: str
    subdivision: str
    timezone: str
    default_locale: str
    sender_name: str
    reply_to: str
    website: str
    brand_colour: str
    frequency_cap_days: int
    edit_window_days: int
    retention_months: int
    combined_score: bool


class ShopPatch(Schema):
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    country: Line | None = Field(default=None, min_length=2, max_length=2)
    subdivision: Line | None = Field(default=None, max_length=10)
    timezone: Line | None = Field(default=None, max_length=64)
    default_locale: Line | None = None
    sender_name: Line | None = Field(default=None, max_length=200)
    reply_to: Email | None = None
    website: Line | None = Field(default=None, max_length=200, description="the shop's own site, https://…")
    brand_colour: Line | None = Field(
        default=None, max_length=7, description="the accent of its widgets, #rrggbb; empty for the default"
    )
    frequency_cap_days: int | None = Field(default=None, ge=0, le=3650)
    edit_window_days: int | None = Field(default=None, ge=0, le=365)
    retention_months: int | None = Field(
        default=None,
        ge=1,
        le=120,
        description="customers' addresses and names of older orders and invitations are erased; reviews stay",
    )
    combined_score: bool | None = Field(
        default=None,
        description="also show a score combining verified and imported reviews (its formula is published)",
    )


@router.get("/shop", response=ShopOut, summary="This key's shop")
def get_shop(request: HttpRequest) -> Shop:
    return shop_of(request)


@router.patch("/shop", response={200: ShopOut, 422: ErrorOut}, summary="Change the shop's settings")
def update_shop(request: HttpRequest, payload: ShopPatch) -> Shop:
    changes = payload.dict(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise invalid(field, "must not be null")
    try:
        return actions.update_shop(shop=shop_of(request), changes=changes)
    except ValidationError as error:
        raise model_invalid(error) from None


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str] = Field(alias="scope_list")
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="The key itself: shown in this answer only, store it now")


class ApiKeyIn(Schema):
    name: Line = Field(default="", max_length=100)
    scopes: list[Literal["read", "write"]] = Field(
        default=["read", "write"],
        min_length=1,
        description="`read`: GET requests only (a read key gets 403 on anything else); `write`: the rest",
    )


@router.get("/api-keys", response=list[ApiKeyOut], summary="The shop's API keys (prefixes only)")
def list_keys(request: HttpRequest) -> Any:
    return ApiKey.objects.filter(shop=shop_of(request)).order_by("id")


@router.post("/api-keys", response={201: NewApiKeyOut}, summary="Issue a new API key")
def create_key(request: HttpRequest, payload: ApiKeyIn) -> Status[dict[str, Any]]:
    key, raw = ApiKey.issue(shop=shop_of(request), name=payload.name, scopes=payload.scopes)
    return Status(201, {**ApiKeyOut.from_orm(key).model_dump(by_alias=True), "key": raw})


@router.delete("/api-keys/{key_id}", response={204: None, 404: ErrorOut}, summary="Revoke an API key at once")
def revoke_key(request: HttpRequest, key_id: int) -> Status[None]:
    api_key_of(shop_of(request), key_id).revoke()
    return Status(204, None)
