"""The connectors page of a shop's dashboard (`/dashboard/<slug>/connectors`): the shop's
connectors with the URL to paste into each platform, what they received lately, and for
managers and owners the forms to connect a platform, pause, resume, remap and delete. Every
form calls the action the API calls (reputable.integrations.actions).

A connector's secret is on the answer to its creation only, as an API key is.

For managers and owners the page also holds the shop's accounts with the review providers its
rules may forward invitations to: which credentials are set (their values are never shown
back), a form per provider to set or replace them, and a button to remove the account. Each
calls the action the API calls (reputable.integrations.forwarding).
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.paging import BadCursor, Position, keyset_page
from reputable.events.models import EventType
from reputable.integrations import actions, forwarding, shopware
from reputable.integrations.api import RECENT
from reputable.integrations.models import Connector, Delivery, Platform, Provider, ProviderAccount
from reputable.integrations.platforms import PLATFORMS, delivery_url, platform_of
from reputable.shops.access import connector_of, may

SECTION = "dashboard-connectors"
# The deliveries shown with each connector on the page; its log shows them all, a page at a time.
LATEST = 10
PAGE_SIZE = 50


def connectable() -> list[tuple[str, str]]:
    """The platforms whose modules are there to connect."""
    return [(value, label) for value, label in Platform.choices if value in PLATFORMS]


class NewConnectorForm(forms.Form):
    platform = forms.ChoiceField(label=gettext_lazy("Shop system"), choices=connectable)
    secret = forms.CharField(
        label=gettext_lazy("Signing secret"),
        required=False,
        max_length=200,
        help_text=gettext_lazy(
            "Shopify: the secret Shopify shows under Settings → Notifications → Webhooks (required)."
            " The others: leave it empty and one is made."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    base_url = forms.URLField(
        label=gettext_lazy("Shop address"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("Magento 2 only: the address of your shop, e.g. https://shop.example."),
    )
    access_token = forms.CharField(
        label=gettext_lazy("Access token"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Magento 2 only: the access token of the integration you made for Reputable."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class MappingForm(forms.Form):
    """A choice per stage of the connector's platform: an event type of the shop, or none."""

    def __init__(
        self, data: Any = None, *, connector: Connector, event_types: list[EventType], read_only: bool = False
    ) -> None:
        super().__init__(data, prefix=f"connector-{connector.pk}")
        choices = [("", gettext_lazy("ignore it"))] + [
            (t.key, t.name if t.is_active else _("%(name)s (switched off)") % {"name": t.name}) for t in event_types
        ]
        for stage, event_type in platform_of(connector).mapping(connector).items():
            self.fields[stage] = forms.ChoiceField(
                label=stage, choices=choices, required=False, initial=event_type, disabled=read_only
            )


# The label of each provider credential (see forwarding.CREDENTIALS).
CREDENTIAL_LABELS = {
    "api_token": gettext_lazy("API token"),
    "location_id": gettext_lazy("Location ID"),
    "client_id": gettext_lazy("Client ID"),
    "client_secret": gettext_lazy("Client secret"),
    "channel_id": gettext_lazy("Channel ID"),
    "api_key": gettext_lazy("API key"),
    "api_secret": gettext_lazy("API secret"),
    "business_unit_id": gettext_lazy("Business unit ID"),
    "template_id": gettext_lazy("Invitation template ID"),
    "sender_email": gettext_lazy("Sender email address"),
    "reply_to": gettext_lazy("Reply-to email address"),
    "redirect_uri": gettext_lazy("Address to show after the review"),
}
# The credentials typed into password inputs: a browser neither shows nor echoes them back.
SECRETS = {"api_token", "client_secret", "api_key", "api_secret"}


class ProviderAccountForm(forms.Form):
    """The credentials of one provider, each a field named by its key. Whether they are
    complete is the action's to say (forwarding.set_account), so none is required here."""

    def __init__(self, data: Any = None, *, provider: str) -> None:
        super().__init__(data, prefix=provider)
        self.provider = provider
        required, optional = forwarding.CREDENTIALS[provider]
        for key in required + optional:
            attrs = {"autocomplete": "off"}
            widget = forms.PasswordInput(attrs=attrs) if key in SECRETS else forms.TextInput(attrs=attrs)
            self.fields[key] = forms.CharField(
                label=CREDENTIAL_LABELS.get(key, key),
                required=False,
                widget=widget,
                help_text=gettext_lazy("Optional.") if key in optional else "",
            )


def _add_refusal(form: forms.Form, error: actions.Refused) -> None:
    for field, message in error.fields.items():
        name = field.removeprefix("mapping.")
        form.add_error(name if name in form.fields else None, message)


def _page(
    request: ShopRequest,
    *,
    form: NewConnectorForm | None = None,
    remapped: MappingForm | None = None,
    provider_form: ProviderAccountForm | None = None,
    status: int = 200,
) -> HttpResponse:
    shop = request.shop
    event_types = list(EventType.objects.filter(shop=shop).order_by("name"))
    read_only = not may(request.membership, Role.MANAGER)
    items = []
    for connector in Connector.objects.filter(shop=shop).with_activity(since=timezone.now() - RECENT):
        mapping = remapped if remapped is not None and remapped.prefix == f"connector-{connector.pk}" else None
        items.append(
            {
                "connector": connector,
                "url": delivery_url(connector),
                "mapping": mapping or MappingForm(connector=connector, event_types=event_types, read_only=read_only),
                "deliveries": list(connector.deliveries.all()[:LATEST]),
            }
        )
    context = {
        "section": SECTION,
        "items": items,
        "form": form or NewConnectorForm(),
        "recent_days": RECENT.days,
        "providers": [] if read_only else _providers(request, provider_form),
    }
    return page(request, "integrations/connectors/index.html", context, status=status)


def _providers(request: ShopRequest, bound: ProviderAccountForm | None) -> list[dict[str, Any]]:
    """Each provider with the shop's account there (or None), the names of the credentials set
    (never their values) and the form to set them."""
    accounts = {a.provider: a for a in ProviderAccount.objects.filter(shop=request.shop)}
    providers = []
    for value, label in Provider.choices:
        account = accounts.get(value)
        given = {key for key, text in (account.credentials if account else {}).items() if text}
        required, optional = forwarding.CREDENTIALS[value]
        providers.append(
            {
                "value": value,
                "label": label,
                "account": account,
                "set": [CREDENTIAL_LABELS.get(key, key) for key in required + optional if key in given],
                "form": bound if bound is not None and bound.provider == value else ProviderAccountForm(provider=value),
            }
        )
    return providers


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.MANAGER)
def connectors(request: ShopRequest) -> HttpResponse:
    """GET: the shop's connectors; POST: a new one, its secret shown on the answer only."""
    if request.method != "POST":
        return _page(request)
    form = NewConnectorForm(request.POST)
    if form.is_valid():
        try:
            connector = actions.create_connector(shop=request.shop, **form.cleaned_data)
        except actions.Refused as error:
            _add_refusal(form, error)
        else:
            # Not a redirect: the secret is in this answer and nowhere else, and no cache may keep it.
            context = {"section": SECTION, "connector": connector, "url": delivery_url(connector)}
            response = page(request, "integrations/connectors/created.html", context)
            add_never_cache_headers(response)
            return response
    return _page(request, form=form, status=400)


@require_POST
@shop_page(role=Role.MANAGER)
def connector_status(request: ShopRequest, connector_id: int) -> HttpResponse:
    connector = connector_of(request.shop, connector_id)
    try:
        actions.change_connector(connector=connector, status=request.POST.get("status", ""))
    except actions.Refused:
        messages.error(request, _("The connector was not changed: choose to pause or to resume it."))
    else:
        if connector.is_paused:
            messages.success(request, _("The connector is paused: what its platform sends is dropped."))
        else:
            messages.success(request, _("The connector is active again."))
    return redirect(SECTION, request.shop.slug)


@require_POST
@shop_page(role=Role.MANAGER)
def connector_mapping(request: ShopRequest, connector_id: int) -> HttpResponse:
    connector = connector_of(request.shop, connector_id)
    form = MappingForm(request.POST, connector=connector, event_types=list(EventType.objects.filter(shop=request.shop)))
    if form.is_valid():
        try:
            actions.change_connector(connector=connector, mapping=form.cleaned_data)
        except actions.Refused as error:
            _add_refusal(form, error)
        else:
            messages.success(request, _("The stages are mapped anew: the next deliveries record them so."))
            return redirect(SECTION, request.shop.slug)
    return _page(request, remapped=form, status=400)


@require_POST
@shop_page(role=Role.MANAGER)
def connector_delete(request: ShopRequest, connector_id: int) -> HttpResponse:
    connector = connector_of(request.shop, connector_id)
    connector.delete()
    messages.success(
        request,
        _("The %(platform)s connector is deleted: its address takes no more deliveries.")
        % {"platform": connector.get_platform_display()},
    )
    return redirect(SECTION, request.shop.slug)


@require_safe
@shop_page(role=Role.VIEWER)
def connector_deliveries(request: ShopRequest, connector_id: int) -> HttpResponse:
    """Everything a connector received, newest first, a page at a time."""
    connector = connector_of(request.shop, connector_id)
    try:
        position = Position.of(request.GET.get("cursor"))
    except BadCursor:
        position = None  # an altered link: the newest page
    found = keyset_page(connector.deliveries.all(), "id", position, PAGE_SIZE)
    by_id = Delivery.objects.in_bulk(found.keys)
    context = {
        "section": SECTION,
        "connector": connector,
        "deliveries": [by_id[pk] for pk in found.keys],
        "older": found.link(request.GET, found.older) if found.older else None,
        "newer": found.link(request.GET, found.newer) if found.newer else None,
    }
    return page(request, "integrations/connectors/deliveries.html", context)


@require_safe
@shop_page(role=Role.MANAGER)
def connector_shopware_app(request: ShopRequest, connector_id: int) -> HttpResponse:
    """A Shopware 6 connector's app, to upload into the shop; it holds the app secret, so only
    managers and owners may take it."""
    connector = connector_of(request.shop, connector_id)
    if connector.platform != Platform.SHOPWARE6:
        raise Http404("not a Shopware connector")
    return shopware.app_download(connector)


def _provider(provider: str) -> str:
    if provider not in Provider.values:
        raise Http404("no such provider")
    return provider


@require_POST
@shop_page(role=Role.MANAGER)
def provider_account(request: ShopRequest, provider: str) -> HttpResponse:
    """Set or replace the shop's credentials with a provider; a refusal is shown by its field."""
    form = ProviderAccountForm(request.POST, provider=_provider(provider))
    if form.is_valid():
        try:
            forwarding.set_account(shop=request.shop, provider=provider, credentials=form.cleaned_data)
        except forwarding.Refused as error:
            for field, message in error.fields.items():
                name = field.removeprefix("credentials.")
                form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(
                request,
                _("The %(provider)s account is set: rules sent by %(provider)s forward their invitations with it.")
                % {"provider": Provider(provider).label},
            )
            return redirect(SECTION, request.shop.slug)
    return _page(request, provider_form=form, status=400)


@require_POST
@shop_page(role=Role.MANAGER)
def provider_account_remove(request: ShopRequest, provider: str) -> HttpResponse:
    """Forget the shop's account with a provider, unless an active rule forwards to it."""
    # Scoped by the shop the choke point gave, as the API's DELETE is.
    account = ProviderAccount.objects.filter(shop=request.shop, provider=_provider(provider)).first()
    label = Provider(provider).label
    if account is None:
        messages.info(request, _("There is no %(provider)s account to remove.") % {"provider": label})
    else:
        try:
            forwarding.remove_account(account=account)
        except forwarding.Refused as error:
            reason = "; ".join(error.fields.values())
            messages.error(
                request,
                _("The %(provider)s account is not removed: %(reason)s.") % {"provider": label, "reason": reason},
            )
        else:
            messages.success(request, _("The %(provider)s account is removed.") % {"provider": label})
    return redirect(SECTION, request.shop.slug)


urls = [
    path("connectors", connectors, name=SECTION),
    path("connectors/<int:connector_id>/status", connector_status, name="dashboard-connector-status"),
    path("connectors/<int:connector_id>/mapping", connector_mapping, name="dashboard-connector-mapping"),
    path("connectors/<int:connector_id>/delete", connector_delete, name="dashboard-connector-delete"),
    path("connectors/<int:connector_id>/deliveries", connector_deliveries, name="dashboard-connector-deliveries"),
    path(
        "connectors/<int:connector_id>/shopware-app.zip",
        connector_shopware_app,
        name="dashboard-connector-shopware-app",
    ),
    path("connectors/providers/<str:provider>", provider_account, name="dashboard-provider-account"),
    path(
        "connectors/providers/<str:provider>/remove",
        provider_account_remove,
        name="dashboard-provider-account-remove",
    ),
]
