"""The JSON API under /api/v1/: routers of the apps, auth, and one error shape."""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from reputable.events.api import router as events_router
from reputable.integrations.api import router as connectors_router
from reputable.integrations.forwarding_api import router as provider_accounts_router
from reputable.integrations.imports_api import router as imports_router
from reputable.integrations.review_imports_api import router as review_imports_router
from reputable.invitations.api import router as invitations_router
from reputable.lib.api import ApiError, FieldError, field_errors, invalid_fields
from reputable.moderation.api import router as disputes_router
from reputable.privacy.api import router as privacy_router
from reputable.reviews.api import public_router
from reputable.reviews.api import router as reviews_router
from reputable.shops.access import ApiKeyAuth
from reputable.shops.api import router as shops_router
from reputable.webhooks.api import router as webhooks_router
from reputable.widgets.api import router as exports_router

api = NinjaAPI(
    title="Reputable API",
    version="1",
    description="Report transaction events, configure invitations, read reviews. "
    "Authenticate with `Authorization: Bearer <api key>`.",
    auth=ApiKeyAuth(),
    urls_namespace="api",
)
api.add_router("/", shops_router)
api.add_router("/", events_router)
api.add_router("/", invitations_router)
api.add_router("/", reviews_router)
api.add_router("/", public_router)
api.add_router("/", exports_router)
api.add_router("/", privacy_router)
api.add_router("/", disputes_router)
api.add_router("/", connectors_router)
api.add_router("/", imports_router)
api.add_router("/", review_imports_router)
api.add_router("/", provider_accounts_router)
api.add_router("/", webhooks_router)


def error_response(request: HttpRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(request, error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


api.exception_handler(ApiError)(error_response)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # ninja puts where it read the value first: ("body", "payload", ...) or ("path", "kind").
    errors = [{**e, "loc": list(e.get("loc", ()))[2 if e.get("loc", ("",))[0] == "body" else 1 :]} for e in exc.errors]
    return error_response(request, invalid_fields(field_errors(errors)))


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, ApiError(401, "unauthorized", "a valid API key is required (Authorization: Bearer <key>)")
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # ninja could not parse the body
        fields = [FieldError(field="body", message="is not valid JSON")]
        return error_response(request, ApiError(400, "invalid_json", "the request body is not valid JSON", fields))
    return error_response(request, ApiError(exc.status_code, "error", exc.message))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, ApiError(404, "not_found", "no such object"))


@api.exception_handler(RequestDataTooBig)
def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(request, ApiError(413, "body_too_large", "the request body is too large"))
