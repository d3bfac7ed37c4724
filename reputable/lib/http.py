"""HTTP helpers shared by pages, the API and widgets: CORS, ETags, HEAD, the API's error shape."""

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseNotFound,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.cache import get_conditional_response

from reputable.lib.text import is_line

# Cross-origin reads of public resources (summaries, widgets): any site may read them, without
# credentials; the ETag is readable so a client can revalidate.
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}
# Any page may embed them, even one that isolates itself (Cross-Origin-Embedder-Policy).
EMBEDDABLE = {"Cross-Origin-Resource-Policy": "cross-origin"}
# The answer to a CORS preflight of a public resource.
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "If-None-Match",
    "Access-Control-Max-Age": "86400",
}
API_PREFIX = "/api/"
PUBLIC_API_PREFIX = "/api/v1/public/"


def with_headers[R: HttpResponseBase](response: R, headers: Mapping[str, str]) -> R:
    for name, value in headers.items():
        response[name] = value
    return response


def too_many_attempts_page(request: HttpRequest, retry_after: int) -> HttpResponse:
    """The page for an address past its limit of failed attempts (see reputable.lib.ratelimit)."""
    response = render(request, "too_many_attempts.html", {"minutes": max(1, -(-retry_after // 60))}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def etag_of(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def public_json(request: HttpRequest, body: Mapping[str, Any], *, max_age: int) -> HttpResponseBase:
    """A public, cacheable JSON answer: open CORS, an ETag of its content, 304 when it matches."""
    return public_response(request, JsonResponse(body, json_dumps_params={"sort_keys": True}), max_age=max_age)


def public_response(request: HttpRequest, response: HttpResponse, *, max_age: int, swr: int = 0) -> HttpResponseBase:
    """A public answer, the same for everyone: readable from any origin, cacheable for
    `max_age` seconds (then served stale for `swr` more while it is fetched again), with an
    ETag of its content; a 304 when the client has it."""
    with_headers(response, CORS_HEADERS | EMBEDDABLE)
    response["Cache-Control"] = f"public, max-age={max_age}" + (f", stale-while-revalidate={swr}" if swr else "")
    response["ETag"] = etag_of(response.content)
    not_modified = get_conditional_response(request, etag=response["ETag"], response=response)
    if not_modified is None:
        return response
    return with_headers(not_modified, CORS_HEADERS)


def api_error_body(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message, "fields": []}).encode()


# What the API answers in its own shape when Django or ninja answered in theirs.
_API_ERRORS = {
    404: ("not_found", "no such resource"),
    405: ("method_not_allowed", "this resource does not take that method"),
    500: ("server_error", "an unexpected error occurred; it has been logged"),
}


class HttpMiddleware:
    """The outermost middleware, for every request.

    HEAD is answered as GET without the body (RFC 9110 9.3.2). Under /api/, OPTIONS is answered
    with the allowed methods (and CORS for the public resources), and every error is in the
    API's JSON shape `{"code", "message", "fields"}` however it arose (an unknown path, a wrong
    method, a 500). Answers are changed in place, so the headers that the middleware inside
    set (CSP, framing) stay.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX) and isinstance(response, HttpResponse):
            _in_api_shape(request, response)
        if head and isinstance(response, HttpResponse):
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        elif head and isinstance(response, StreamingHttpResponse):
            response.streaming_content = []  # a static file: its length is set, its file closed at the end
        return response


def _in_api_shape(request: HttpRequest, response: HttpResponse) -> None:
    if request.method == "OPTIONS" and response.status_code == 405:
        allowed = {m.strip() for m in response.get("Allow", "").split(",") if m.strip()}
        response.status_code, response.content = 204, b""
        response["Allow"] = ", ".join(sorted(allowed | {"OPTIONS"} | ({"HEAD"} if "GET" in allowed else set())))
        del response["Content-Type"]
        if request.path.startswith(PUBLIC_API_PREFIX):
            with_headers(response, PREFLIGHT_HEADERS)
    elif response.status_code >= 400 and not response.get("Content-Type", "").startswith("application/json"):
        code, message = _API_ERRORS.get(response.status_code, ("error", "the request could not be answered"))
        response.content = api_error_body(code, message)
        response["Content-Type"] = "application/json"


class PageInputMiddleware:
    """A page whose path or query holds control characters is refused before any view sees it
    (reputable.lib.text's rule; under /api/ the parameters' own types say which one failed)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if not is_line(request.path):
            return HttpResponseNotFound()
        if not all(is_line(value) for _name, values in request.GET.lists() for value in values):
            return HttpResponseBadRequest()
        return self.get_response(request)
