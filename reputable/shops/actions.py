"""Creating shops with everything a shop needs to receive its first event; changing their
settings; their teams (invitations, roles, members); deleting them."""

from collections.abc import Mapping
from typing import Any

import holidays
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction as db_transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from reputable.dispatch.outbox import send_email
from reputable.events.models import BUILTIN_EVENT_TYPES, Event, EventType
from reputable.invitations.models import InvitationRule
from reputable.lib import pagecache
from reputable.lib.emails import normalise_address
from reputable.lib.tokens import hash_secret, new_token
from reputable.moderation.models import Deadline, Decision, Dispute, Entry, Evidence, Notice
from reputable.privacy.models import RetentionRun
from reputable.reviews.models import Review
from reputable.shops.logos import encode_logo
from reputable.shops.models import ApiKey, Membership, Shop, TeamInvitation

# Words the dashboard uses after /dashboard/ for pages that are not a shop's (joining a team,
# creating a shop, notification links): no shop may be called so.
RESERVED_SLUGS = {"new", "join", "notifications"}


def unique_slug(name: str) -> str:
    base = slugify(name)[:70] or "shop"
    slug, n = base, 1
    while slug in RESERVED_SLUGS or Shop.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_shop(
    *,
    name: str,
    country: str = "DE",
    timezone: str = "Europe/Berlin",
    locale: str = "en",
    website: str = "",
    owner: User | None = None,
) -> tuple[Shop, str]:
    """A shop with the built-in event types, the default checkout rule and a first API key,
    and `owner` as its owner if given.

    Returns the shop and the raw API key, which is shown this once and never stored.
    """
    with db_transaction.atomic():
        shop = Shop(
            name=name,
            slug=unique_slug(name),
            country=country,
            timezone=timezone,
            default_locale=locale,
            website=website,
        )
        shop.full_clean()
        shop.save()
        for key, (type_name, is_stop, active) in BUILTIN_EVENT_TYPES.items():
            event_type = EventType.objects.create(
                shop=shop, key=key, name=type_name, is_stop=is_stop, is_active=active, is_builtin=True
            )
            if key == "checkout":
                # Seven days after the order, one reminder a week later.
                InvitationRule.objects.create(event_type=event_type)
        _key, raw = ApiKey.issue(shop=shop, name="first key")
        if owner is not None:
            Membership.objects.create(shop=shop, user=owner, role=Membership.Role.OWNER)
    return shop, raw


# The settings `update_shop` changes: fields of Shop, and "logo" (an image to re-encode).
SETTINGS = frozenset(
    {
        "name",
        "country",
        "subdivision",
        "timezone",
        "default_locale",
        "sender_name",
        "reply_to",
        "website",
        "brand_colour",
        "frequency_cap_days",
        "edit_window_days",
        "retention_months",
        "combined_score",
        "logo",
    }
)


def update_shop(*, shop: Shop, changes: Mapping[str, Any]) -> Shop:
    """Change the settings of `shop` named in `changes` (a field and its new value; "logo": the
    bytes of an uploaded image, or None to remove the logo): all of them, or, if any is not
    valid, none (ValidationError naming each failing field, and `shop` as it was).

    The API's PATCH and the dashboard's settings page both change a shop through here.
    """
    if unknown := set(changes) - SETTINGS:
        raise ValueError(f"not a setting of a shop: {sorted(unknown)}")
    values = {field: value for field, value in changes.items() if field != "logo"}
    if isinstance(values.get("country"), str):
        values["country"] = values["country"].upper()
    if isinstance(values.get("brand_colour"), str):
        values["brand_colour"] = values["brand_colour"].lower()
    before = {field: getattr(shop, field) for field in values}
    for field, value in values.items():
        setattr(shop, field, value)
    errors: dict[str, list[str]] = {}
    try:
        # Only what changes: a setting stored before a rule existed does not block the others.
        shop.full_clean(exclude={f.name for f in Shop._meta.fields} - set(values))
    except ValidationError as error:
        errors |= error.message_dict
    if {"country", "subdivision"} & set(values) and not {"country", "subdivision"} & set(errors):
        try:
            subdivision = _subdivision(shop.country, shop.subdivision)
        except ValidationError as error:
            errors["subdivision"] = error.messages
        else:
            if "subdivision" in values:
                shop.subdivision = values["subdivision"] = subdivision
    logo = changes.get("logo")
    try:
        logo_png = encode_logo(logo) if logo is not None else None
    except ValidationError as error:
        errors["logo"] = error.messages
    if errors:
        for field, value in before.items():
            setattr(shop, field, value)
        raise ValidationError(errors)
    updated = list(values)
    if "logo" in changes:
        shop.logo_png = logo_png
        updated.append("logo_png")
    if updated:
        shop.save(update_fields=updated)
        pagecache.changed(shop.slug)  # its name, language, site, colour, logo and scores show in widgets
    if "retention_months" in values:
        # A new period applies at the dispatcher's next pass, not only at the run's next day.
        RetentionRun.objects.filter(shop=shop).update(due_at=django_timezone.now())
    return shop


def _subdivision(country: str, subdivision: str) -> str:
    """`subdivision` as `holidays` spells it, if it is a region of `country` with its own holidays."""
    if not subdivision:
        return ""
    known = {code.upper(): code for code in holidays.list_supported_countries().get(country, [])}
    if subdivision.upper() not in known:
        message = _(
            "%(subdivision)s is not a region of %(country)s with public holidays of its own."
            " Leave it empty, or give one of: %(known)s."
        )
        known_list = ", ".join(known.values()) or "–"
        raise ValidationError(message % {"subdivision": subdivision, "country": country, "known": known_list})
    return known[subdivision.upper()]


# --- The team ---------------------------------------------------------------------------------


class TeamChangeRefused(Exception):
    """A change to a team that its rules do not allow; the message says why, for the page."""


def invite_to_team(*, shop: Shop, email: str, role: str, invited_by: User, language: str) -> TeamInvitation:
    """Invite `email` to the team of `shop` as `role`: an email (in `language`) with a link to
    join. Inviting an address again sends a new link and the old one stops working.

    Refused for an address already on the team; AddressError for one no email can reach.
    """
    email = normalise_address(email)
    role = Membership.Role(role)
    members = Membership.objects.filter(shop=shop)
    if members.filter(Q(user__email__iexact=email) | Q(user__emailaddress__email__iexact=email)).exists():
        raise TeamChangeRefused(_("%(email)s is on the team already.") % {"email": email})
    token = new_token()
    with db_transaction.atomic():
        invitation, _created = TeamInvitation.objects.update_or_create(
            shop=shop,
            email=email,
            defaults={
                "role": role,
                "hashed_token": hash_secret(token),
                "invited_by": invited_by,
                "created_at": django_timezone.now(),
                "accepted_at": None,
            },
        )
        send_email(
            "team-invitation",
            to=email,
            context={
                "shop_name": shop.name,
                "inviter": invited_by.email,
                "role": role.value,
                "join_url": settings.BASE_URL + reverse("dashboard-join", args=[token]),
                "days": TeamInvitation.VALID_FOR.days,
            },
            language=language,
            shop=shop,
            reply_to=invited_by.email,
        )
    return invitation


def accept_team_invitation(*, invitation: TeamInvitation, user: User) -> Membership:
    """`user` joins the team with the invitation's role: once, while it is open, and only with
    the address it was sent to (verified). Someone on the team already keeps their role."""
    if not EmailAddress.objects.filter(user=user, email__iexact=invitation.email, verified=True).exists():
        raise TeamChangeRefused(
            _("This invitation is for %(email)s. Log in with that address to accept it.") % {"email": invitation.email}
        )
    with db_transaction.atomic():
        # The update is the claim: of two uses at once, one finds it taken.
        taken = TeamInvitation.objects.filter(
            pk=invitation.pk, accepted_at=None, created_at__gt=django_timezone.now() - TeamInvitation.VALID_FOR
        ).update(accepted_at=django_timezone.now())
        if not taken:
            raise TeamChangeRefused(_("This invitation has been used or has expired."))
        membership, _created = Membership.objects.get_or_create(
            shop=invitation.shop, user=user, defaults={"role": invitation.role}
        )
    return membership


def change_member_role(*, membership: Membership, role: str) -> Membership:
    """Give the member `role`; refused if it would leave the shop without an owner."""
    role = Membership.Role(role)
    with db_transaction.atomic():
        if role != Membership.Role.OWNER:
            _keep_an_owner(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def remove_member(*, membership: Membership) -> None:
    """Take the member off the team; refused for the shop's last owner."""
    with db_transaction.atomic():
        _keep_an_owner(membership)
        membership.delete()


def _keep_an_owner(membership: Membership) -> None:
    """Refuse to let `membership` stop being an owner unless another active owner remains.

    The owners' rows stay locked until the transaction ends, so that two owners demoting each
    other at once cannot both succeed (on PostgreSQL; SQLite runs one write at a time anyway).
    """
    owners = Membership.objects.select_for_update().filter(
        shop_id=membership.shop_id, role=Membership.Role.OWNER, user__is_active=True
    )
    locked = list(owners.values_list("pk", flat=True))
    if locked == [membership.pk]:
        raise TeamChangeRefused(_("A shop needs an owner. Make someone else an owner first."))


def delete_shop(*, shop: Shop) -> None:
    """Delete `shop` with everything that is its: reviews, orders, invitations, team, keys.

    Reviews and events go first: they hold on to the invitations, orders, products and event
    types they name (PROTECT), so that nothing else deletes those from under them; before
    them the moderation cases of its reviews, which hold on to the reviews (a decision never
    deletes anything; the owner deleting the whole shop does).
    """
    with db_transaction.atomic():
        reviews = Review.objects.filter(shop=shop)
        Entry.objects.filter(Q(dispute__shop=shop) | Q(notice__review__in=reviews)).delete()
        Decision.objects.filter(review__in=reviews).delete()
        for model in (Evidence, Deadline):
            model.objects.filter(dispute__shop=shop).delete()
        Dispute.objects.filter(shop=shop).delete()
        Notice.objects.filter(review__in=reviews).delete()
        reviews.delete()
        Event.objects.filter(shop=shop).delete()
        pagecache.changed(shop.slug)  # its profile and widgets go
        shop.delete()
