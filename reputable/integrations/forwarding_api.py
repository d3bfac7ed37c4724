"""Provider accounts through the API: the shop's credentials with the providers its rules may
forward invitations to (`channel`, see reputable.integrations.forwarding).

Credentials are never shown back: an account answers which of them are set, and a PUT replaces
them all. Each endpoint calls one action of reputable.integrations.forwarding; what it refuses
is a 422 naming the field (a 409 for an account an active rule still forwards to).
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from reputable.integrations import forwarding
from reputable.integrations.models import Provider, ProviderAccount
from reputable.lib.api import ApiError, ErrorOut, FieldError, invalid_fields
from reputable.shops.access import provider_account_of, shop_of

router = Router(tags=["provider accounts"])

CREDENTIALS_HELP = (
    "Kiyoh: `api_token`, `location_id`. The Feedback Company: `client_id`, `client_secret`. eTrusted: "
    "`client_id`, `client_secret`, `channel_id`. Trustpilot: `api_key`, `api_secret`, `business_unit_id`, "
    "and optionally `template_id`, `sender_email`, `reply_to`, `redirect_uri`."
)


class AccountIn(Schema):
    credentials: dict[str, Any] = Field(description=CREDENTIALS_HELP)


class AccountOut(Schema):
    provider: str
    name: str
    credentials_set: list[str] = Field(description="The credentials given (their values are never shown)")
    created_at: dt.datetime
    updated_at: dt.datetime


def account_out(account: ProviderAccount) -> dict[str, Any]:
    return {
        "provider": account.provider,
        "name": account.get_provider_display(),
        "credentials_set": sorted(key for key, value in account.credentials.items() if value),
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def _provider(provider: str) -> str:
    if provider not in Provider.values:
        raise ApiError(404, "not_found", f"no provider {provider!r}: one of {', '.join(Provider.values)}")
    return provider


def _refused(error: forwarding.Refused) -> ApiError:
    fields = [FieldError(field=f, message=m) for f, m in error.fields.items()]
    if error.conflict:
        return ApiError(409, "in_use", str(error), fields)
    return invalid_fields(fields)


@router.get("/provider-accounts", response=list[AccountOut], summary="The shop's provider accounts")
def list_accounts(request: HttpRequest) -> list[dict[str, Any]]:
    return [account_out(a) for a in ProviderAccount.objects.filter(shop=shop_of(request)).order_by("provider")]


@router.put(
    "/provider-accounts/{provider}",
    response={200: AccountOut, 404: ErrorOut, 422: ErrorOut},
    summary="Set the shop's credentials with a provider",
    description="Replaces the credentials (and forgets a cached access token). " + CREDENTIALS_HELP,
)
def put_account(request: HttpRequest, provider: str, payload: AccountIn) -> dict[str, Any]:
    try:
        account = forwarding.set_account(
            shop=shop_of(request), provider=_provider(provider), credentials=payload.credentials
        )
    except forwarding.Refused as error:
        raise _refused(error) from None
    return account_out(account)


@router.delete(
    "/provider-accounts/{provider}",
    response={204: None, 404: ErrorOut, 409: ErrorOut},
    summary="Forget the shop's credentials with a provider",
    description="Refused (409) while an active rule forwards to the provider.",
)
def delete_account(request: HttpRequest, provider: str) -> Status[None]:
    account = provider_account_of(shop_of(request), _provider(provider))
    try:
        forwarding.remove_account(account=account)
    except forwarding.Refused as error:
        raise _refused(error) from None
    return Status(204, None)
