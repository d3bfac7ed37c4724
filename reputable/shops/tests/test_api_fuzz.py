"""Whatever a client sends to the API, it answers with a 4xx and never a server error; every
error in the API's shape; HEAD and OPTIONS wherever GET is answered."""

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from reputable.api import api
from reputable.conftest import shop_access
from reputable.wsgi import application


def served(environ: dict[str, Any], start_response: Any) -> Any:
    """The WSGI application `reputable serve` runs, keeping the test's database transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return list(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = served


@pytest.fixture
def key(db: None) -> str:
    return shop_access("Fuzz Teas").key


def assert_api_shape(status: int, content_type: str, body: bytes) -> None:
    """A 4xx or 5xx answer is `{"code", "message", "fields"}` JSON, whatever caused it."""
    if status < 400:
        return
    assert content_type.startswith("application/json"), (status, content_type, body[:200])
    error = json.loads(body)
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and isinstance(error["fields"], list)


@schema.parametrize()
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_with_a_server_error(case: Any, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
    content_type = {name.lower(): value for name, value in response.headers.items()}.get("content-type", [""])
    assert_api_shape(
        response.status_code, content_type[0] if isinstance(content_type, list) else content_type, response.content
    )
    if case.method.upper() != "GET" or case.operation.method.upper() != "GET":
        return
    client = Client(headers=headers)
    get = client.get(case.formatted_path, case.query or {})
    head = client.head(case.formatted_path, case.query or {})
    options = client.options(case.formatted_path)
    assert (head.status_code, head.getvalue()) == (get.status_code, b"")
    if not get.streaming:  # a file streamed as it is written (an export) has no length known ahead
        assert head["Content-Length"] == str(len(get.content))
    try:
        resolve(unquote(urlsplit(case.formatted_path).path))  # the path as Django sees it
    except Resolver404:  # no such path (a reference with a line break, say): OPTIONS finds none either
        assert options.status_code == 404
        return
    assert options.status_code == 204
    assert {"GET", "HEAD", "OPTIONS"} <= set(options["Allow"].split(", "))
