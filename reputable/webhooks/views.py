"""The webhooks pages of a shop's dashboard (`/dashboard/<slug>/webhooks`), for managers and
owners: the shop's endpoints and a form to add one; each endpoint's page to change its URL,
event types and description, disable or enable it, rotate its secret or delete it, with its
delivery log (newest first, each try, a "Redeliver" button). Every form calls the action the
API calls (reputable.webhooks.actions).

A secret is on the answer to the endpoint's creation and to a rotation only, as an API key
is: rendered in that answer, never stored in the session, never cached.
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.paging import BadCursor, Position, keyset_page
from reputable.shops.access import webhook_delivery_of, webhook_endpoint_of
from reputable.webhooks import actions
from reputable.webhooks.api import delivery_out, endpoint_out
from reputable.webhooks.events import EVENT_TYPES
from reputable.webhooks.models import Delivery, Endpoint

SECTION = "dashboard-webhooks"
PAGE_SIZE = 25  # deliveries on an endpoint's page; older ones a page at a time


class EndpointForm(forms.Form):
    # Not a URLField: what an endpoint's URL may be (scheme, host, no credentials) is the
    # action's rule, and its refusal names the field.
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=2000,
        widget=forms.URLInput(attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("Where Reputable POSTs the messages: an http or https address on the internet."),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Event types"),
        choices=[(key, format_lazy("{}: {}", key, label)) for key, label in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,  # none chosen: the action's refusal says so
        help_text=gettext_lazy("The messages the endpoint receives."),
    )


def _add_refusal(form: forms.Form, error: actions.Refused) -> None:
    for field, message in error.fields.items():
        form.add_error(field if field in form.fields else None, message)


def _never_cached(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    return response


def _list(request: ShopRequest, form: EndpointForm | None = None, *, status: int = 200) -> HttpResponse:
    endpoints = [endpoint_out(e) for e in Endpoint.objects.filter(shop=request.shop)]
    context = {"section": SECTION, "endpoints": endpoints, "form": form or EndpointForm(), "max": actions.MAX_ENDPOINTS}
    return page(request, "webhooks/list.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@shop_page(role=Role.MANAGER)
def webhooks(request: ShopRequest) -> HttpResponse:
    """GET: the shop's endpoints and the form to add one; POST: a new one, its secret shown on
    the answer only."""
    if request.method != "POST":
        return _list(request)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = actions.create_endpoint(shop=request.shop, now=timezone.now(), **form.cleaned_data)
        except actions.Refused as error:
            _add_refusal(form, error)
        else:
            # Not a redirect: the secret is in this answer and nowhere else.
            context = {"section": SECTION, "endpoint": endpoint_out(endpoint), "secret": endpoint.secret}
            return _never_cached(page(request, "webhooks/secret.html", context))
    return _list(request, form, status=400)


def _detail(
    request: ShopRequest, endpoint: Endpoint, form: EndpointForm | None = None, *, status: int = 200
) -> HttpResponse:
    try:
        position = Position.of(request.GET.get("cursor"))
    except BadCursor:
        position = None  # an altered link: the newest page
    found = keyset_page(Delivery.objects.filter(endpoint=endpoint), "id", position, PAGE_SIZE)
    by_id = Delivery.objects.select_related("message").in_bulk(found.keys)
    if form is None:
        initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
        form = EndpointForm(initial=initial)
    context = {
        "section": SECTION,
        "endpoint": endpoint_out(endpoint),
        "form": form,
        "deliveries": [delivery_out(by_id[pk]) for pk in found.keys],
        "older": found.link(request.GET, found.older) if found.older else None,
        "newer": found.link(request.GET, found.newer) if found.newer else None,
    }
    return page(request, "webhooks/detail.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@shop_page(role=Role.MANAGER)
def webhook(request: ShopRequest, endpoint_id: int) -> HttpResponse:
    """GET: the endpoint and its delivery log; POST: its URL, event types and description."""
    endpoint = webhook_endpoint_of(request.shop, endpoint_id)
    if request.method != "POST":
        return _detail(request, endpoint)
    form = EndpointForm(request.POST)
    if form.is_valid():
        try:
            actions.change_endpoint(endpoint=endpoint, now=timezone.now(), **form.cleaned_data)
        except actions.Refused as error:
            _add_refusal(form, error)
        else:
            messages.success(request, _("The endpoint is changed: the next messages follow it."))
            return redirect("dashboard-webhook", request.shop.slug, endpoint.pk)
    return _detail(request, endpoint, form, status=400)


@require_POST
@shop_page(role=Role.MANAGER)
def webhook_status(request: ShopRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_of(request.shop, endpoint_id)
    wanted = {"disabled": True, "enabled": False}.get(request.POST.get("status", ""))
    if wanted is None:
        messages.error(request, _("The endpoint was not changed: choose to disable or to enable it."))
    else:
        actions.change_endpoint(endpoint=endpoint, now=timezone.now(), disabled=wanted)
        if wanted:
            messages.success(request, _("The endpoint is disabled: its pending deliveries have failed."))
        else:
            messages.success(request, _("The endpoint is enabled again: redeliver what failed meanwhile."))
    return redirect("dashboard-webhook", request.shop.slug, endpoint.pk)


@require_POST
@shop_page(role=Role.MANAGER)
def webhook_rotate(request: ShopRequest, endpoint_id: int) -> HttpResponse:
    endpoint = actions.rotate_secret(endpoint=webhook_endpoint_of(request.shop, endpoint_id), now=timezone.now())
    context = {"section": SECTION, "endpoint": endpoint_out(endpoint), "secret": endpoint.secret, "rotated": True}
    return _never_cached(page(request, "webhooks/secret.html", context))


@require_POST
@shop_page(role=Role.MANAGER)
def webhook_delete(request: ShopRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_of(request.shop, endpoint_id)
    actions.delete_endpoint(endpoint=endpoint)
    messages.success(request, _("The endpoint %(url)s is deleted, with its deliveries.") % {"url": endpoint.url})
    return redirect(SECTION, request.shop.slug)


@require_POST
@shop_page(role=Role.MANAGER)
def webhook_redeliver(request: ShopRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_of(request.shop, endpoint_id)
    delivery = webhook_delivery_of(endpoint, delivery_id)
    try:
        actions.retry_delivery(delivery=delivery, now=timezone.now())
    except actions.Refused:
        if endpoint.disabled:
            messages.error(request, _("The endpoint is disabled: enable it first, then redeliver."))
        else:
            messages.error(request, _("This delivery is pending already."))
    else:
        messages.success(request, _("The message is delivered again shortly, with the same webhook-id."))
    return redirect("dashboard-webhook", request.shop.slug, endpoint.pk)


urls = [
    path("webhooks", webhooks, name=SECTION),
    path("webhooks/<int:endpoint_id>", webhook, name="dashboard-webhook"),
    path("webhooks/<int:endpoint_id>/status", webhook_status, name="dashboard-webhook-status"),
    path("webhooks/<int:endpoint_id>/rotate-secret", webhook_rotate, name="dashboard-webhook-rotate"),
    path("webhooks/<int:endpoint_id>/delete", webhook_delete, name="dashboard-webhook-delete"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/redeliver",
        webhook_redeliver,
        name="dashboard-webhook-redeliver",
    ),
]
