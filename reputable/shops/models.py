import datetime as dt
import zoneinfo
from collections.abc import Sequence

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.timezone import now

from reputable.lib.text import validate_line
from reputable.lib.tokens import hash_secret, new_api_key, new_token


def validate_country(value: str) -> None:
    if value not in holidays.list_supported_countries():
        raise ValidationError(f"{value!r} is not a country with a known holiday calendar")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone")


class Shop(models.Model):
    name = models.CharField(max_length=200, validators=[validate_line])
    slug = models.SlugField(max_length=80, unique=True)
    country = models.CharField(max_length=2, default="DE", validators=[validate_country])
    # A region code of the country (e.g. "BY" for Bavaria) for regional public holidays.
    subdivision = models.CharField(max_length=10, blank=True)
    timezone = models.CharField(max_length=64, default="Europe/Berlin", validators=[validate_timezone])
    default_locale = models.CharField(max_length=8, default="en", choices=settings.LANGUAGES)
    sender_name = models.CharField(max_length=200, blank=True, validators=[validate_line])
    reply_to = models.EmailField(blank=True)
    # The shop's own site (https://shop.example): its product links belong there, and
    # Google's feed rules check them against it.
    website = models.URLField(max_length=200, blank=True)
    # The logo as a PNG of at most 512 × 512 pixels, re-encoded from the upload (so nothing
    # but pixels is kept), served at /s/<slug>/logo.png; in the database, so that every
    # machine of an installation has it without shared files.
    logo_png = models.BinaryField(null=True, blank=True, editable=False)
    # The accent of the shop's widgets and profile (#rrggbb).
    brand_colour = models.CharField(
        max_length=7, blank=True, validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "a colour as #rrggbb")]
    )
    # The same address is not invited again by this shop within this many days.
    frequency_cap_days = models.PositiveIntegerField(default=30, validators=[MaxValueValidator(3650)])
    # How long the review link keeps editing the review after it was written.
    edit_window_days = models.PositiveIntegerField(
        default=14, validators=[MinValueValidator(0), MaxValueValidator(365)]
    )
    # Customers' addresses and names of transactions and invitations older than this many
    # months are erased by the dispatcher (reputable.privacy); their reviews stay.
    retention_months = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    # Whether the seal, badge and profile also show a score combining the verified reviews with
    # those imported from other portals (reputable.integrations.sources: its published formula).
    # Off by default: the verified score always comes first and stays on its own.
    combined_score = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return self.name

    @property
    def display_sender(self) -> str:
        # One line whatever was stored (rows written before validation, or by hand).
        return " ".join((self.sender_name or self.name).split())


class Membership(models.Model):
    """A user's place in a shop's team; what each role may do is in `reputable.shops.access`."""

    class Role(models.TextChoices):
        OWNER = "owner"
        MANAGER = "manager"
        RESPONDER = "responder"
        VIEWER = "viewer"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    # Notifications (see reputable.dashboard.notifications): an email on each new review whose
    # stars fall in one of these bands ("1-2 3 4-5", space-separated; "" for none) and whose
    # language is one of these ("" for any); the weekly digest.
    notify_bands = models.CharField(max_length=20, blank=True, default="1-2 3 4-5")
    notify_languages = models.CharField(max_length=40, blank=True)
    weekly_digest = models.BooleanField(default=True)
    # The secret in the unsubscribe links of this member's notifications.
    notification_token = models.CharField(max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.shop_id} ({self.role})"


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read"  # GET (and HEAD, OPTIONS) only
        WRITE = "write"  # everything else

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    # What the key may do: scope names separated by spaces, as OAuth writes them.
    scopes = models.CharField(max_length=40, default="read write")
    # The first characters of the key, shown in lists so the merchant can tell keys apart.
    prefix = models.CharField(max_length=16)
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=now)
    # Updated at most once an hour (see reputable.shops.access.grant_for_key).
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @classmethod
    def issue(cls, *, shop: Shop, name: str = "", scopes: Sequence[str] = ("read", "write")) -> tuple["ApiKey", str]:
        """A new key for `shop`; the raw key is returned once and never stored."""
        raw = new_api_key()
        ordered = " ".join(scope for scope in cls.Scope.values if scope in scopes)
        key = cls.objects.create(shop=shop, name=name, scopes=ordered, prefix=raw[:12], hashed_key=hash_secret(raw))
        return key, raw

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = now()
            self.save(update_fields=["revoked_at"])


class TeamInvitation(models.Model):
    """An invitation to join a shop's team, sent by email; accepted by signing in with that address."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="team_invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.VIEWER)
    # The link's secret, as SHA-256 (the raw token is only in the email).
    hashed_token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    # How long the link works; inviting the address again sends a new link, good as long.
    VALID_FOR = dt.timedelta(days=14)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "email"], name="one_team_invitation_per_address")]

    def __str__(self) -> str:
        return f"{self.email} to {self.shop_id} ({self.role})"

    @property
    def expires_at(self) -> dt.datetime:
        return self.created_at + self.VALID_FOR

    def is_open(self) -> bool:
        """Whether the link still lets its addressee join: not used yet, not expired."""
        return self.accepted_at is None and now() < self.expires_at
