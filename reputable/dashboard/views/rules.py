"""The rules section of a shop's dashboard: its event types, each with its invitation rules.

Each rule is shown as a sentence in the merchant's language ("7 business days after delivery,
at 10:00 Berlin time; 1 reminder 5 days later", from reputable.invitations.describe). While a
rule is edited, its form posts to a preview on every change (htmx) that answers the sentence
and when an event now would be invited and reminded. Rules are stored by
`reputable.invitations.actions.save_rule`, the write path of the API too: at most one rule of
an event type is active, and making a second one active says which one is and offers to switch
(that one off, this one on, in one transaction).
"""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.events.models import EventType
from reputable.invitations.actions import ActiveRuleExists, Refused, check_rule, save_rule
from reputable.invitations.describe import rule_sentence, sample_schedule
from reputable.invitations.models import CHANNELS, EMAIL, InvitationRule
from reputable.lib.dates import DelayUnit
from reputable.shops.access import event_type_of, may, rule_of

SECTION = "dashboard-rules"
# The form's fields that are the rule's own, as they are.
RULE_FIELDS = (
    "delay_amount",
    "delay_unit",
    "send_time",
    "reminder_count",
    "reminder_interval_amount",
    "reminder_interval_unit",
    "max_transaction_age_days",
    "is_active",
    "channel",
)
UNITS = [
    (DelayUnit.MINUTES.value, gettext_lazy("minutes")),
    (DelayUnit.HOURS.value, gettext_lazy("hours")),
    (DelayUnit.DAYS.value, gettext_lazy("days")),
    (DelayUnit.BUSINESS_DAYS.value, gettext_lazy("business days")),
]


class RuleForm(forms.Form):
    delay_amount = forms.IntegerField(label=gettext_lazy("Delay"), min_value=0)
    delay_unit = forms.ChoiceField(label=gettext_lazy("Delay in"), choices=UNITS)
    send_time = forms.TimeField(
        label=gettext_lazy("Time of day"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy("In the shop's time zone; empty to send as soon as the delay is over."),
    )
    reminder_count = forms.TypedChoiceField(
        label=gettext_lazy("Number of reminders"), choices=[(n, str(n)) for n in range(4)], coerce=int
    )
    reminder_interval_amount = forms.IntegerField(
        label=gettext_lazy("Interval"),
        min_value=1,
        help_text=gettext_lazy("After the invitation, and between reminders. A review stops the reminders."),
    )
    reminder_interval_unit = forms.ChoiceField(label=gettext_lazy("Interval in"), choices=UNITS)
    max_transaction_age_days = forms.IntegerField(
        label=gettext_lazy("Maximum age of an order (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=gettext_lazy("Orders older than this when their event arrives are not invited; empty for any age."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False)
    channel = forms.ChoiceField(
        label=gettext_lazy("Sent by"),
        choices=CHANNELS,
        required=False,  # a form without it (an older page) keeps Reputable's email
        help_text=gettext_lazy(
            "Reputable's email, or a provider the shop connected under Connectors, Review providers: it receives the"
            " invitation at its time and sends it and its own reminders."
        ),
    )
    # Shown while another rule of the event type is active (see `_form_page`).
    replace_active = forms.BooleanField(required=False)

    def __init__(self, *args: Any, rule: InvitationRule, read_only: bool = False, **kwargs: Any) -> None:
        kwargs["initial"] = {field: getattr(rule, field) for field in RULE_FIELDS}
        super().__init__(*args, **kwargs)
        self.rule = rule
        for field in self.fields.values():
            field.disabled = read_only

    def clean_channel(self) -> str:
        return self.cleaned_data["channel"] or EMAIL

    def changed_rule(self) -> InvitationRule:
        """The rule with the form's values (not stored)."""
        for field in RULE_FIELDS:
            setattr(self.rule, field, self.cleaned_data[field])
        return self.rule

    def refuse(self, error: Refused) -> None:
        """The action's refusal next to the fields it names."""
        for field, message in error.fields.items():
            self.add_error(field if field in self.fields else None, message)


def _active_other(rule: InvitationRule) -> InvitationRule | None:
    """The active rule of `rule`'s event type if it is another one."""
    return InvitationRule.objects.filter(event_type=rule.event_type, is_active=True).exclude(pk=rule.pk).first()


# --- the list ----------------------------------------------------------------------------------


@dataclass
class TypeRules:
    """An event type with its rules (the active one first) and their sentences."""

    event_type: EventType
    rules: list[tuple[InvitationRule, str]]

    @property
    def active_rule(self) -> InvitationRule | None:
        return next((rule for rule, _sentence in self.rules if rule.is_active), None)


def _list_page(request: ShopRequest, *, conflict: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    shop = request.shop
    rules = InvitationRule.objects.order_by("-is_active", "pk")
    types = EventType.objects.filter(shop=shop).prefetch_related(Prefetch("rules", queryset=rules)).order_by("pk")
    listed = [TypeRules(t, [(rule, rule_sentence(rule, shop)) for rule in t.rules.all()]) for t in types]
    context = {"section": SECTION, "types": listed, "conflict": conflict}
    return page(request, "dashboard/rules/index.html", context, status=status)


@require_safe
@shop_page(role=Role.VIEWER)
def rules(request: ShopRequest) -> HttpResponse:
    """Every event type of the shop, built in or added through the API, with its rules."""
    return _list_page(request)


def _choice(request: ShopRequest) -> bool | None:
    """The POST's `active`: "1" on, "0" off, anything else None."""
    return {"1": True, "0": False}.get(request.POST.get("active", ""))


@require_POST
@shop_page(role=Role.MANAGER)
def event_type_active(request: ShopRequest, key: str) -> HttpResponse:
    """Switch an event type on or off: the API takes events only of types that are on."""
    event_type = event_type_of(request.shop, key)
    active = _choice(request)
    if active is None:
        return _list_page(request, status=400)
    event_type.is_active = active
    event_type.save(update_fields=["is_active"])
    if active:
        messages.success(request, _("“%(name)s” is on: events of this type are taken.") % {"name": event_type.name})
    else:
        messages.success(request, _("“%(name)s” is off: events of this type are refused.") % {"name": event_type.name})
    return redirect(reverse(SECTION, args=[request.shop.slug]) + f"#type-{event_type.key}")


@require_POST
@shop_page(role=Role.MANAGER)
def rule_active(request: ShopRequest, rule_id: int) -> HttpResponse:
    """Activate or deactivate a rule; `replace=1` switches the active rule of its type to it."""
    rule = rule_of(request.shop, rule_id)
    active = _choice(request)
    if active is None:
        return _list_page(request, status=400)
    rule.is_active = active
    try:
        save_rule(rule=rule, replace_active=request.POST.get("replace") == "1")
    except ActiveRuleExists as error:
        conflict = {
            "rule": rule,
            "sentence": rule_sentence(rule, request.shop),
            "active": rule_sentence(error.active, request.shop) if error.active else "",
        }
        return _list_page(request, conflict=conflict, status=409)
    except Refused as error:
        messages.error(request, str(error))
        return _list_page(request, status=400)
    sentence = rule_sentence(rule, request.shop)
    if active:
        messages.success(request, _("This rule is active now: %(rule)s.") % {"rule": sentence})
    else:
        messages.success(request, _("This rule is inactive now: %(rule)s.") % {"rule": sentence})
    return redirect(reverse(SECTION, args=[request.shop.slug]) + f"#type-{rule.event_type.key}")


# --- one rule --------------------------------------------------------------------------------------


def _preview_of(rule: InvitationRule, request: ShopRequest) -> dict[str, Any]:
    """The rule's sentence and when an event now would be invited and reminded."""
    return {
        "sentence": rule_sentence(rule, request.shop),
        "schedule": sample_schedule(rule, request.shop, timezone.now()),
        "business_days": rule.counts_business_days,
    }


def _form_page(request: ShopRequest, form: RuleForm, *, status: int = 200) -> HttpResponse:
    """The rule's form, next to the preview of the rule as stored (or of what is wrong)."""
    rule = form.rule
    active_other = None if rule.event_type.is_stop else _active_other(rule)
    if active_other is not None:
        form.fields["replace_active"].label = _("Replace the active rule (%(rule)s) with this one") % {
            "rule": rule_sentence(active_other, request.shop)
        }
    context = {
        "section": SECTION,
        "form": form,
        "rule": rule,
        "event_type": rule.event_type,
        "active_other": active_other,
        "preview": {"form": form} if form.errors or rule.event_type.is_stop else _preview_of(rule, request),
    }
    return page(request, "dashboard/rules/form.html", context, status=status)


def _saved(request: ShopRequest, form: RuleForm) -> HttpResponse:
    """Store the form's rule, or show it again with what is wrong (409 for a second active rule)."""
    if not form.is_valid():
        return _form_page(request, form, status=400)
    rule = form.changed_rule()
    try:
        save_rule(rule=rule, replace_active=form.cleaned_data["replace_active"])
    except ActiveRuleExists as error:
        form.add_error("is_active", _conflict_message(error.active, request))
        return _form_page(request, form, status=409)
    except Refused as error:
        form.refuse(error)
        return _form_page(request, form, status=400)
    messages.success(request, _("The rule is saved: %(rule)s.") % {"rule": rule_sentence(rule, request.shop)})
    return redirect(reverse(SECTION, args=[request.shop.slug]) + f"#type-{rule.event_type.key}")


def _conflict_message(active: InvitationRule | None, request: ShopRequest) -> str:
    if active is None:  # made active by someone else a moment ago
        return _("Another rule of this event type is active, and only one can be.")
    return _(
        "Only one rule of an event type can be active, and this one is: %(rule)s."
        " Choose to replace it, or save this rule inactive."
    ) % {"rule": rule_sentence(active, request.shop)}


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.MANAGER)
def new_rule(request: ShopRequest, key: str) -> HttpResponse:
    """A new rule for the event type `key` (active unless another one is)."""
    event_type = event_type_of(request.shop, key)
    rule = InvitationRule(event_type=event_type)
    rule.is_active = not event_type.rules.filter(is_active=True).exists()
    if event_type.is_stop:  # the page says why there is no form
        return _form_page(request, RuleForm(rule=rule), status=400 if request.method == "POST" else 200)
    if request.method == "POST":
        return _saved(request, RuleForm(request.POST, rule=rule))
    return _form_page(request, RuleForm(rule=rule))


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.MANAGER)
def edit_rule(request: ShopRequest, rule_id: int) -> HttpResponse:
    """GET: the rule, its sentence and next send dates; POST: change it."""
    rule = rule_of(request.shop, rule_id)
    if request.method == "POST":
        return _saved(request, RuleForm(request.POST, rule=rule))
    return _form_page(request, RuleForm(rule=rule, read_only=not may(request.membership, Role.MANAGER)))


@require_POST
@shop_page(role=Role.MANAGER)
def preview_rule(request: ShopRequest, key: str) -> HttpResponse:
    """The preview of a rule of `key` as the form has it (htmx swaps it in; nothing is stored)."""
    event_type = event_type_of(request.shop, key)
    form = RuleForm(request.POST, rule=InvitationRule(event_type=event_type))
    preview: dict[str, Any] = {"form": form}
    if form.is_valid():
        rule = form.changed_rule()
        try:
            check_rule(rule=rule)
        except Refused as error:
            form.refuse(error)
        else:
            preview = _preview_of(rule, request)
    return render(request, "dashboard/rules/_preview.html", {"shop": request.shop, "preview": preview})


urls = [
    path("rules", rules, name=SECTION),
    path("rules/types/<str:key>", event_type_active, name="dashboard-event-type"),
    path("rules/types/<str:key>/new", new_rule, name="dashboard-rule-new"),
    path("rules/types/<str:key>/preview", preview_rule, name="dashboard-rule-preview"),
    path("rules/<int:rule_id>", edit_rule, name="dashboard-rule"),
    path("rules/<int:rule_id>/active", rule_active, name="dashboard-rule-active"),
]
