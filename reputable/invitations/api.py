"""Invitation rules, message templates and suppressions through the API."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from reputable.invitations.actions import (
    ActiveRuleExists,
    Refused,
    reset_template,
    save_rule,
    set_template,
    suppress_address,
)
from reputable.invitations.models import InvitationRule, MessageKind, MessageTemplate, Suppression
from reputable.lib.api import ApiError, Email, ErrorOut, FieldError, invalid, invalid_fields
from reputable.lib.text import Line, Paragraphs
from reputable.shops.access import event_type_of, rule_of, shop_of, template_of

router = Router(tags=["invitations"])

Unit = Literal["minutes", "hours", "days", "business_days"]


class RuleOut(Schema):
    id: int
    event_type: str = Field(alias="event_type.key")
    is_active: bool
    delay_amount: int
    delay_unit: str
    send_time: dt.time | None
    reminder_count: int
    reminder_interval_amount: int
    reminder_interval_unit: str
    max_transaction_age_days: int | None
    channel: str = Field(description="`email` (Reputable sends it) or the provider it is forwarded to")


CHANNEL = (
    "`email`: Reputable sends the invitation and its reminders; `kiyoh`, `feedbackcompany`, `etrusted` or"
    " `trustpilot`: at its send time the invitation is forwarded to that provider with the shop's account"
    " (PUT /api/v1/provider-accounts/{provider}), which sends it and its own reminders"
)


class RulePatch(Schema):
    is_active: bool | None = None
    delay_amount: int | None = Field(
        default=None, ge=0, description="at most 525600 minutes, 8760 hours, 365 days or 260 business days"
    )
    delay_unit: Unit | None = None
    send_time: dt.time | None = Field(default=None, description="hours and minutes, in the shop's time zone")
    reminder_count: int | None = Field(default=None, ge=0, le=3)
    reminder_interval_amount: int | None = Field(default=None, ge=1, description="at most as delay_amount")
    reminder_interval_unit: Unit | None = None
    max_transaction_age_days: int | None = Field(default=None, ge=1, le=3650)
    channel: str | None = Field(default=None, max_length=20, description=CHANNEL)


class RuleIn(RulePatch):
    is_active: bool = True
    delay_amount: int = Field(default=7, ge=0)
    delay_unit: Unit = "days"
    reminder_count: int = Field(default=1, ge=0, le=3)
    reminder_interval_amount: int = Field(default=7, ge=1)
    reminder_interval_unit: Unit = "days"
    max_transaction_age_days: int | None = Field(default=90, ge=1, le=3650)
    channel: str = Field(default="email", max_length=20, description=CHANNEL)


def refused(error: Refused) -> ApiError:
    """The action's refusal as a 422 naming the fields (the API names an event type by its key)."""
    names = {"event_type": "key"}
    return invalid_fields([FieldError(field=names.get(f, f), message=m) for f, m in error.fields.items()])


def saved(rule: InvitationRule) -> InvitationRule:
    """The rule stored by `save_rule`; a second active rule of its event type is a 409."""
    try:
        return save_rule(rule=rule)
    except ActiveRuleExists as error:
        raise ApiError(
            409,
            "active_rule_exists",
            f"event type {rule.event_type.key!r} already has an active rule; deactivate it first"
            " (PATCH /api/v1/rules/{id} with is_active false)",
            [FieldError(field="is_active", message=error.fields["is_active"])],
        ) from None
    except Refused as error:
        raise refused(error) from None


@router.get(
    "/event-types/{key}/rules", response={200: list[RuleOut], 404: ErrorOut}, summary="The rules of an event type"
)
def list_rules(request: HttpRequest, key: Line) -> Any:
    return InvitationRule.objects.filter(event_type=event_type_of(shop_of(request), key)).select_related("event_type")


@router.post(
    "/event-types/{key}/rules",
    response={201: RuleOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Add an invitation rule",
    description="At most one rule per event type is active: adding an active rule while another "
    "is active answers 409 `active_rule_exists`.",
)
def create_rule(request: HttpRequest, key: Line, payload: RuleIn) -> Status[InvitationRule]:
    event_type = event_type_of(shop_of(request), key)
    return Status(201, saved(InvitationRule(event_type=event_type, **payload.dict())))


@router.patch(
    "/rules/{rule_id}",
    response={200: RuleOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Change an invitation rule",
)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> InvitationRule:
    rule = rule_of(shop_of(request), rule_id)
    nullable = {"send_time", "max_transaction_age_days"}
    for field, value in payload.dict(exclude_unset=True).items():
        if value is None and field not in nullable:
            raise invalid(field, "must not be null")
        setattr(rule, field, value)
    return saved(rule)


class TemplateIn(Schema):
    subject: Line = Field(min_length=1, max_length=200)
    body: Paragraphs = Field(min_length=1, max_length=5000)


class TemplateOut(Schema):
    kind: str
    locale: str
    subject: str
    body: str
    updated_at: dt.datetime


@router.get("/message-templates", response=list[TemplateOut], summary="The shop's own email wording")
def list_templates(request: HttpRequest) -> Any:
    return MessageTemplate.objects.filter(shop=shop_of(request)).order_by("kind", "locale")


@router.put(
    "/message-templates/{kind}/{locale}",
    response={200: TemplateOut, 422: ErrorOut},
    summary="Set the subject and body of invitations or reminders in one language",
    description="Plain text with the placeholders {first_name}, {shop_name}, {order_reference}, "
    "{review_url} and {unsubscribe_url}. Anything else in braces is rejected with 422. The "
    "objection notice and unsubscribe link are always added below the body.",
)
def put_template(request: HttpRequest, kind: MessageKind, locale: Line, payload: TemplateIn) -> MessageTemplate:
    try:
        return set_template(shop=shop_of(request), kind=kind, locale=locale, subject=payload.subject, body=payload.body)
    except Refused as error:
        raise refused(error) from None


@router.delete(
    "/message-templates/{kind}/{locale}", response={204: None, 404: ErrorOut}, summary="Back to the default wording"
)
def delete_template(request: HttpRequest, kind: MessageKind, locale: Line) -> Status[None]:
    reset_template(template=template_of(shop_of(request), kind, locale))
    return Status(204, None)


class SuppressionIn(Schema):
    email: Email


class SuppressionOut(Schema):
    email: str
    reason: str
    detail: str  # what the provider or the DSN said of a bounce or complaint; blank otherwise
    source: str
    created_at: dt.datetime


@router.get("/suppressions", response=list[SuppressionOut], summary="Addresses this shop no longer invites")
def list_suppressions(request: HttpRequest) -> Any:
    return Suppression.objects.filter(shop=shop_of(request)).order_by("-created_at")


@router.post(
    "/suppressions",
    response={201: SuppressionOut, 422: ErrorOut},
    summary="Record an objection the shop received itself",
)
def create_suppression(request: HttpRequest, payload: SuppressionIn) -> Status[Suppression]:
    added = suppress_address(email=payload.email, reason=Suppression.Reason.MANUAL, shop=shop_of(request), source="api")
    return Status(201, added)
