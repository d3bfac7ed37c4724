"""API-key authentication: every API request is scoped to its key's shop."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from reputable.shops.models import Shop


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Shop | None:
        return Shop.objects.for_api_key(token)


def shop_of(request: HttpRequest) -> Shop:
    """The shop an API request acts for: the only way API code finds its shop."""
    shop: Shop = request.auth  # type: ignore[attr-defined]
    return shop
