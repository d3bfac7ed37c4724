"""API-key authentication: every API request is scoped to its key's shop."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from reputable.shops.models import ApiKey, Shop


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return ApiKey.objects.authenticate(token)


def shop_of(request: HttpRequest) -> Shop:
    """The shop an API request acts for: the only way API code finds its shop."""
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    return key.shop
