"""The permission choke point: every lookup of a shop, or of one of its objects, goes through here.

- A user reaches a shop through `shop_for_user`, which checks the membership and the role.
- An API request reaches its shop through its key (`ApiKeyAuth`, then `shop_of`), which
  checks the key's scope: a read key may only read.
- Everything else is looked up inside a shop obtained that way, by one function per object
  type (`rule_of(shop, ...)`, `review_of(shop, ...)`, ...). An object of another shop is
  not found: a 404, never a 403 that would tell it exists.

In the dashboard, a member whose role is too low for an action gets 403 (see
`membership_for_user`); anyone else gets 404.

Roles, each with everything of those below it: a viewer reads; a responder also answers
reviews in public and writes to reviewers; a manager also changes settings, rules, templates
and API keys and opens disputes; the owner also manages the members and may delete the shop.
"""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja.security import HttpBearer

from reputable.events.models import EventType, Transaction
from reputable.integrations.models import Connector, Import, ImportedSource, ProviderAccount, ReviewPull
from reputable.invitations.models import Invitation, InvitationRule, MessageTemplate, Suppression
from reputable.lib import ratelimit, sql
from reputable.lib.api import ApiError, too_many_attempts
from reputable.lib.tokens import TOKEN, hash_secret
from reputable.moderation.models import Dispute
from reputable.reviews.models import ReplyTemplate, Review, ReviewMessage
from reputable.shops.models import ApiKey, Membership, Shop, TeamInvitation
from reputable.webhooks.models import Delivery, Endpoint

Role = Membership.Role
# Each role and the roles at least as strong.
_AT_LEAST = {
    Role.VIEWER: [Role.VIEWER, Role.RESPONDER, Role.MANAGER, Role.OWNER],
    Role.RESPONDER: [Role.RESPONDER, Role.MANAGER, Role.OWNER],
    Role.MANAGER: [Role.MANAGER, Role.OWNER],
    Role.OWNER: [Role.OWNER],
}
# Methods that only read: a key with the `read` scope may use these.
READING = {"GET", "HEAD", "OPTIONS"}


# --- shops ------------------------------------------------------------------------------------


def membership_for_user(user: User | AnonymousUser, slug: str, *, role: str) -> Membership:
    """`user`'s membership of the shop `slug`, if it has `role` or a stronger one.

    Not an active member: 404, as if the shop did not exist. A member whose role is too low:
    403 (the shop is theirs to know about, this action is not).
    """
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.filter(user=user, user__is_active=True, shop__slug=slug)
        .select_related("shop", "user")
        .defer("shop__logo_png")  # read by the settings page alone
        .first()
    )
    if membership is None:
        raise Http404
    if membership.role not in _AT_LEAST[Role(role)]:
        raise PermissionDenied(f"this needs the role {role} or a stronger one")
    return membership


def shop_for_user(user: User | AnonymousUser, slug: str, *, role: str) -> Shop:
    """The shop `slug`, if `user` is an active member of it with `role` or a stronger one (else 404 or 403)."""
    return membership_for_user(user, slug, role=role).shop


def may(membership: Membership, role: str) -> bool:
    """Whether the member's role is `role` or a stronger one (to show or hide what they may do)."""
    return membership.role in _AT_LEAST[Role(role)]


def members_at_least(shop: Shop, role: str) -> QuerySet[Membership]:
    """The shop's active members with `role` or a stronger one (to tell them about something)."""
    return Membership.objects.filter(shop=shop, role__in=_AT_LEAST[Role(role)], user__is_active=True)


def shops_for_user(user: User | AnonymousUser) -> list[tuple[Shop, str]]:
    """Every shop `user` is an active member of, with the role there, by name."""
    if not user.is_authenticated:
        return []
    memberships = Membership.objects.filter(user=user, user__is_active=True).select_related("shop")
    return [(m.shop, m.role) for m in memberships.order_by("shop__name", "shop__pk")]


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation whose review and unsubscribe links carry `token`, or None.

    A token that is not one we could have made is not looked up at all.
    """
    if not TOKEN.fullmatch(token):
        return None
    return Invitation.objects.select_related("shop", "transaction").filter(token=token).first()


def dispute_for_invitation(invitation: Invitation, dispute_id: int) -> Dispute:
    """A dispute about the review of the invitation whose link the reviewer holds, once the
    reviewer has a part in it: admitted, or acted on at once (a restriction). A dispute still
    in triage, or closed there, was never the reviewer's business."""
    dispute = get_object_or_404(
        Dispute.objects.select_related("shop", "review"), review__invitation=invitation, pk=dispute_id
    )
    if dispute.admitted_at is None and not dispute.decisions.exists():
        raise Http404
    return dispute


def membership_for_notification_token(token: str) -> Membership | None:
    """The membership whose notification emails' unsubscribe links carry `token`, or None."""
    if not TOKEN.fullmatch(token):
        return None
    return Membership.objects.select_related("shop", "user").filter(notification_token=token).first()


def team_invitation_for_token(token: str) -> TeamInvitation | None:
    """The open invitation to a team whose join link carries `token`, or None (unknown, used
    or expired). Only the token's hash is stored."""
    if not TOKEN.fullmatch(token):
        return None
    invitation = (
        TeamInvitation.objects.select_related("shop", "invited_by")
        .filter(hashed_token=hash_secret(token), accepted_at=None)
        .first()
    )
    return invitation if invitation is not None and invitation.is_open() else None


def public_shop(slug: str) -> Shop:
    """A shop as anyone may see it (profile, summary): by its public slug. Without its logo's
    bytes (served on their own by `public_logo`); `has_logo` says whether it has one."""
    shops = Shop.objects.defer("logo_png").annotate(has_logo=Q(logo_png__isnull=False))
    return get_object_or_404(shops, slug=slug)


def public_logo(slug: str) -> bytes:
    """The logo of the shop `slug` as a PNG; 404 for a shop without one."""
    logo = Shop.objects.filter(slug=slug, logo_png__isnull=False).values_list("logo_png", flat=True).first()
    if logo is None:
        raise Http404
    return bytes(logo)


@dataclass(frozen=True)
class Grant:
    """What an API key (`key_id`) may do: act for `shop`, with `scopes` (`read`, `write`)."""

    shop: Shop
    scopes: frozenset[str]
    key_id: int


# The logo's bytes are not read on every API request: no endpoint shows them.
_SHOP = sql.Select(Shop, "s", defer=["logo_png"])
# How exact a key's "last used" is: it is written at most this often, not on every request.
LAST_USED_PRECISION = dt.timedelta(hours=1)


def grant_for_key(raw_key: str) -> Grant | None:
    """The shop and scopes of a live API key; a revoked or unknown key has none.

    In plain SQL: it runs on every API request (see reputable.lib.sql). Records when the key
    was last used, with one UPDATE an hour at most.
    """
    with connection.cursor() as cursor:
        rows = sql.Statements(cursor).fetch(
            f"SELECT k.id, k.scopes, k.last_used_at, {_SHOP.columns} FROM {sql.table(Shop)} s"
            f" JOIN {sql.table(ApiKey)} k ON k.shop_id = s.id"
            " WHERE k.hashed_key = %s AND k.revoked_at IS NULL",
            [hash_secret(raw_key)],
        )
    if not rows:
        return None
    key_id, scopes, last_used, *shop = rows[0]
    now = timezone.now()
    if last_used is None or sql.to_datetime(last_used) <= now - LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key_id).update(last_used_at=now)
    return Grant(_SHOP.instance(shop), frozenset(scopes.split()), key_id)


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`: the request acts for the key's shop, within its scopes."""

    def authenticate(self, request: HttpRequest, token: str) -> Shop | None:
        grant = grant_for_key(token)
        if grant is None:
            if retry_after := ratelimit.failed("api-key", request):
                raise too_many_attempts(retry_after)
            return None
        needed = "read" if request.method in READING else "write"
        if needed not in grant.scopes:
            raise ApiError(403, "forbidden", f"this API key lacks the {needed!r} scope")
        request.api_key_id = grant.key_id  # type: ignore[attr-defined]
        return grant.shop


def shop_of(request: HttpRequest) -> Shop:
    """The shop an API request acts for: the only way API code finds its shop."""
    shop: Shop = request.auth  # type: ignore[attr-defined]
    return shop


def api_key_of_request(request: HttpRequest) -> ApiKey:
    """The API key a request came with (to record who asked for something), within its shop."""
    return api_key_of(shop_of(request), request.api_key_id)  # type: ignore[attr-defined]


# --- objects of a shop ------------------------------------------------------------------------
#
# `shop` comes from `shop_for_user` or from the API key: these are scoped by it.


def event_type_of(shop: Shop, key: str) -> EventType:
    return get_object_or_404(EventType, shop=shop, key=key)


def rule_of(shop: Shop, rule_id: int) -> InvitationRule:
    return get_object_or_404(InvitationRule.objects.select_related("event_type"), event_type__shop=shop, pk=rule_id)


def template_of(shop: Shop, kind: str, locale: str) -> MessageTemplate:
    return get_object_or_404(MessageTemplate, shop=shop, kind=kind, locale=locale)


def own_template_of(shop: Shop, kind: str, locale: str) -> MessageTemplate | None:
    """The shop's own wording of `kind` in `locale`, or None while it uses the default."""
    return MessageTemplate.objects.filter(shop=shop, kind=kind, locale=locale).first()


def api_key_of(shop: Shop, key_id: int) -> ApiKey:
    return get_object_or_404(ApiKey, shop=shop, pk=key_id)


def member_of(shop: Shop, membership_id: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user"), shop=shop, pk=membership_id)


def transaction_of(shop: Shop, reference: str) -> Transaction:
    return get_object_or_404(Transaction.objects.select_related("invitation"), shop=shop, reference=reference)


def invitation_of(shop: Shop, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation.objects.select_related("transaction"), shop=shop, pk=invitation_id)


def review_of(shop: Shop, review_id: int) -> Review:
    return get_object_or_404(Review.objects.select_related("transaction"), shop=shop, pk=review_id)


def reply_template_of(shop: Shop, template_id: int) -> ReplyTemplate:
    return get_object_or_404(ReplyTemplate, shop=shop, pk=template_id)


def message_of(shop: Shop, message_id: int) -> ReviewMessage:
    return get_object_or_404(ReviewMessage.objects.select_related("review"), review__shop=shop, pk=message_id)


def suppression_of(shop: Shop, suppression_id: int) -> Suppression:
    """One of the shop's own suppressions (the installation's global ones are not the shop's to lift)."""
    return get_object_or_404(Suppression, shop=shop, pk=suppression_id)


def team_invitation_of(shop: Shop, invitation_id: int) -> TeamInvitation:
    return get_object_or_404(TeamInvitation, shop=shop, pk=invitation_id, accepted_at=None)


def dispute_of(shop: Shop, dispute_id: int) -> Dispute:
    return get_object_or_404(Dispute.objects.select_related("review"), shop=shop, pk=dispute_id)


def connector_of(shop: Shop, connector_id: int) -> Connector:
    connector = get_object_or_404(Connector, shop=shop, pk=connector_id)
    connector.shop = shop  # the actions read the shop's event types: not fetched again
    return connector


def import_of(shop: Shop, import_id: int) -> Import:
    imp = get_object_or_404(Import, shop=shop, pk=import_id)
    imp.shop = shop
    return imp


def webhook_endpoint_of(shop: Shop, endpoint_id: int) -> Endpoint:
    endpoint = get_object_or_404(Endpoint, shop=shop, pk=endpoint_id)
    endpoint.shop = shop
    return endpoint


def webhook_delivery_of(endpoint: Endpoint, delivery_id: int) -> Delivery:
    delivery = get_object_or_404(Delivery.objects.select_related("message"), endpoint=endpoint, pk=delivery_id)
    delivery.endpoint = endpoint
    return delivery


def imported_source_of(shop: Shop, source_id: int) -> ImportedSource:
    return get_object_or_404(ImportedSource, shop=shop, pk=source_id)


def review_pull_of(shop: Shop, source: str) -> ReviewPull:
    pull = get_object_or_404(ReviewPull, shop=shop, source=source)
    pull.shop = shop
    return pull


def provider_account_of(shop: Shop, provider: str) -> ProviderAccount:
    return get_object_or_404(ProviderAccount, shop=shop, provider=provider)
