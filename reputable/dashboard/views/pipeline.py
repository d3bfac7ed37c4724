"""The invitation pipeline of a shop's dashboard: every transaction and what became of its
invitation, one transaction with its history, the actions on one invitation, a manual
invitation, the shop's suppressions. A viewer reads; a manager acts.
"""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils import formats
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.paging import BadCursor, Position, keyset_page
from reputable.dashboard.pipeline import (
    NOT_INVITED,
    PAGE_SIZE,
    STAGE_LABELS,
    Filters,
    Row,
    list_transactions,
    transaction_url,
)
from reputable.events.actions import Recorded, invite_customer
from reputable.events.models import Event, EventType
from reputable.invitations.actions import (
    cancel_invitation,
    lift_suppression,
    resend_invitation,
    send_invitation_now,
    suppress_address,
)
from reputable.invitations.models import Stage, Suppression
from reputable.lib.api import LATEST_DAY
from reputable.lib.dates import EARLIEST, time_zone
from reputable.lib.emails import AddressError, normalise_address
from reputable.lib.text import validate_line
from reputable.shops.access import invitation_of, suppression_of, transaction_of
from reputable.shops.models import Shop

SECTION = {"section": "dashboard-pipeline"}
BAD_CURSOR = _("This page link is out of date or was altered: start again from the newest page.")
BAD_ADDRESS = _("Enter a valid email address.")


def _day(value: object) -> None:
    if value is not None and not EARLIEST.date() <= value <= LATEST_DAY:  # type: ignore[operator]
        raise ValidationError(_("Enter a day between 1970 and 2999."))


def _valid_address(value: str) -> None:
    try:
        normalise_address(value)
    except AddressError:
        raise ValidationError(BAD_ADDRESS) from None


class FilterForm(forms.Form):
    q = forms.CharField(
        label=_("Order reference or customer email"),
        required=False,
        max_length=254,
        validators=[validate_line],
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False)
    type = forms.ChoiceField(label=_("Event"), required=False)
    since = forms.DateField(
        label=_("Recorded from"), required=False, validators=[_day], widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Recorded until"), required=False, validators=[_day], widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: object, *, types: list[EventType]) -> None:
        super().__init__(data)  # type: ignore[arg-type]
        stages = [("", _("Any")), *Stage.choices, (NOT_INVITED, STAGE_LABELS[NOT_INVITED])]
        self.fields["status"].choices = stages  # type: ignore[attr-defined]
        self.fields["type"].choices = [("", _("Any")), *((t.key, t.name) for t in types)]  # type: ignore[attr-defined]
        self.types = {t.key: t for t in types}

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            stage=data["status"],
            event_type=self.types.get(data["type"]),
            since=data["since"],
            until=data["until"],
            q=data["q"],
        )


@require_safe
@shop_page(role=Role.VIEWER)
def pipeline(request: ShopRequest) -> HttpResponse:
    shop = request.shop
    types = {t.pk: t for t in EventType.objects.filter(shop=shop)}
    form = FilterForm(request.GET, types=list(types.values()))
    rows: list[Row] = []
    older = newer = None
    if form.is_valid():
        try:
            position = Position.of(request.GET.get("cursor"))
        except BadCursor:
            form.add_error(None, BAD_CURSOR)
        else:
            rows, found = list_transactions(shop, form.filters(), position, types=types)
            older = found.link(request.GET, found.older) if found.older else None
            newer = found.link(request.GET, found.newer) if found.newer else None
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "form": form,
        "rows": rows,
        "older": older,
        "newer": newer,
        "newest": "?" + params.urlencode() if "cursor" in request.GET else None,
    }
    return page(request, "dashboard/pipeline/list.html", SECTION | context, status=400 if form.errors else 200)


@require_safe
@shop_page(role=Role.VIEWER)
def transaction(request: ShopRequest, reference: str) -> HttpResponse:
    tx = transaction_of(request.shop, reference)
    tx.shop = request.shop
    row = Row(
        tx, getattr(tx, "invitation", None), list(Event.objects.filter(transaction=tx).select_related("event_type"))
    )
    context = {"row": row, "tx": tx, "invitation": row.invitation, "products": tx.products.order_by("name", "pk")}
    return page(request, "dashboard/pipeline/transaction.html", SECTION | context)


def _act(request: ShopRequest, invitation_id: int, act: Callable[..., bool], done: str, not_done: str) -> HttpResponse:
    """Apply one of the invitation actions (`act`) and go back to its transaction."""
    invitation = invitation_of(request.shop, invitation_id)
    if act(invitation=invitation):
        messages.success(request, done)
    else:
        messages.warning(request, not_done)
    return redirect(transaction_url(request.shop, invitation.transaction.reference))


@require_POST
@shop_page(role=Role.MANAGER)
def cancel(request: ShopRequest, invitation_id: int) -> HttpResponse:
    return _act(
        request,
        invitation_id,
        cancel_invitation,
        gettext("The invitation is cancelled: nothing more is sent."),
        gettext("Only a scheduled invitation, or one waiting for a reminder, can be cancelled."),
    )


@require_POST
@shop_page(role=Role.MANAGER)
def send_now(request: ShopRequest, invitation_id: int) -> HttpResponse:
    return _act(
        request,
        invitation_id,
        send_invitation_now,
        gettext("The next message goes out at the dispatcher's next pass."),
        gettext("Only a scheduled invitation, or one waiting for a reminder, can be sent now."),
    )


@require_POST
@shop_page(role=Role.MANAGER)
def resend(request: ShopRequest, invitation_id: int) -> HttpResponse:
    return _act(
        request,
        invitation_id,
        resend_invitation,
        gettext("The invitation is tried again at the dispatcher's next pass."),
        gettext("Only a failed invitation of an order that was not returned or cancelled can be tried again."),
    )


class InviteForm(forms.Form):
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        validators=[_valid_address],
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(label=_("First name"), required=False, max_length=100, validators=[validate_line])
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=100, validators=[validate_line])
    language = forms.ChoiceField(label=_("Language of the email"), choices=settings.LANGUAGES)
    reference = forms.CharField(
        label=_("Order reference"),
        required=False,
        max_length=100,
        validators=[validate_line],
        help_text=_("Leave it empty to have one made up."),
    )
    timing = forms.ChoiceField(
        label=_("When"),
        choices=[("rule", _("By the checkout rule")), ("now", _("Now"))],
        initial="rule",
        widget=forms.RadioSelect,
    )


def _when(shop: Shop, moment: object) -> str:
    local = dj_timezone.localtime(moment, time_zone(shop.timezone))  # type: ignore[arg-type]
    return formats.date_format(local, "DATETIME_FORMAT")


def _what_happened(shop: Shop, answer: Recorded, now: bool) -> str:
    """The outcome of a manual invitation, for the merchant."""
    if not answer.created:
        return gettext("This order already had a checkout: nothing new was stored.")
    if answer.outcome == Event.Outcome.SCHEDULED and answer.invitation is not None:
        if now:
            return gettext("Invitation scheduled: it goes out at the dispatcher's next pass.")
        return gettext("Invitation scheduled for %(when)s.") % {"when": _when(shop, answer.invitation.send_at)}
    return gettext("No invitation was scheduled: %(reason)s.") % {"reason": Event.Outcome(answer.outcome).label}


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.MANAGER)
def invite(request: ShopRequest) -> HttpResponse:
    shop = request.shop
    form = InviteForm(request.POST or None, initial={"language": shop.default_locale})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        now = data["timing"] == "now"
        answer = invite_customer(
            shop=shop,
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            locale=data["language"],
            reference=data["reference"],
            send_now=now,
        )
        if isinstance(answer, Recorded):
            messages.info(request, _what_happened(shop, answer, now))
            return redirect(transaction_url(shop, answer.reference))
        form.add_error(None, gettext("The checkout was not recorded: %(why)s") % {"why": answer.message})
    return page(request, "dashboard/pipeline/invite.html", SECTION | {"form": form}, status=400 if form.errors else 200)


class SuppressionSearch(forms.Form):
    q = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=254,
        validators=[validate_line],
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class SuppressionForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.MANAGER)
def suppressions(request: ShopRequest) -> HttpResponse:
    shop = request.shop
    adding = SuppressionForm(request.POST or None)
    if request.method == "POST" and adding.is_valid():
        try:
            added = suppress_address(
                email=adding.cleaned_data["email"], reason=Suppression.Reason.MANUAL, shop=shop, source="dashboard"
            )
        except AddressError:
            adding.add_error("email", BAD_ADDRESS)
        else:
            messages.success(request, gettext("%(email)s is no longer invited.") % {"email": added.email})
            return redirect("dashboard-suppressions", shop.slug)
    search = SuppressionSearch(request.GET)
    own = Suppression.objects.filter(shop=shop)
    rows: list[Suppression] = []
    address = everywhere = older = newer = None
    if search.is_valid():
        address = search.cleaned_data["q"].strip().lower()
        if address:
            own = own.filter(email=address)
            everywhere = Suppression.objects.filter(shop=None, email=address).first()
        try:
            found = keyset_page(own, "id", Position.of(request.GET.get("cursor")), PAGE_SIZE)
        except BadCursor:
            search.add_error(None, BAD_CURSOR)
        else:
            by_id = Suppression.objects.in_bulk(found.keys)
            rows = [by_id[pk] for pk in found.keys]
            older = found.link(request.GET, found.older) if found.older else None
            newer = found.link(request.GET, found.newer) if found.newer else None
    context = {
        "adding": adding,
        "search": search,
        "address": address,
        "everywhere": everywhere,
        "rows": rows,
        "older": older,
        "newer": newer,
    }
    status = 400 if adding.errors or search.errors else 200
    return page(request, "dashboard/pipeline/suppressions.html", SECTION | context, status=status)


@require_POST
@shop_page(role=Role.MANAGER)
def remove_suppression(request: ShopRequest, suppression_id: int) -> HttpResponse:
    suppression = suppression_of(request.shop, suppression_id)
    lift_suppression(suppression=suppression)
    messages.success(
        request, gettext("%(email)s is invited again from the next order on.") % {"email": suppression.email}
    )
    return redirect("dashboard-suppressions", request.shop.slug)


# The transaction page comes last: a reference may contain slashes, and anything before it wins.
urls = [
    path("invitations", pipeline, name="dashboard-pipeline"),
    path("invitations/invite", invite, name="dashboard-invite"),
    path("invitations/suppressions", suppressions, name="dashboard-suppressions"),
    path(
        "invitations/suppressions/<int:suppression_id>/remove", remove_suppression, name="dashboard-suppression-remove"
    ),
    path("invitations/actions/<int:invitation_id>/cancel", cancel, name="dashboard-invitation-cancel"),
    path("invitations/actions/<int:invitation_id>/send-now", send_now, name="dashboard-invitation-send-now"),
    path("invitations/actions/<int:invitation_id>/resend", resend, name="dashboard-invitation-resend"),
    path("invitations/orders/<path:reference>", transaction, name="dashboard-transaction"),
]
