"""What every dashboard page shares: the shop it is about, the member's role, the page frame.

Every view of a shop is declared with `@shop_page(role=...)`: it looks the shop up through the
permission choke point (`reputable.shops.access.membership_for_user`) for the logged-in user
and the least role the view needs, so a foreign shop is a 404 and a too-low role a 403 before
the view runs. The role stays on the view (`view.dashboard_role`), where the permission tests
read it for every URL of the dashboard.

A view that reads takes the least role `viewer`; a view that writes checks its role for each
method it accepts (`write_role`), so that one URL may show a form to a viewer and take its
POST from a manager only.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reputable.shops.access import may, membership_for_user, shops_for_user
from reputable.shops.models import Membership, Shop

Role = Membership.Role
View = Callable[..., HttpResponse]

# The sections of a shop's dashboard: (URL name, label, least role to see it).
SECTIONS = [
    ("dashboard-overview", _("Overview"), Role.VIEWER),
    ("dashboard-inbox", _("Reviews"), Role.VIEWER),
    ("dashboard-disputes", _("Disputes"), Role.VIEWER),
    ("dashboard-pipeline", _("Invitations"), Role.VIEWER),
    ("dashboard-rules", _("Rules"), Role.VIEWER),
    ("dashboard-templates", _("Emails"), Role.VIEWER),
    ("dashboard-analytics", _("Analytics"), Role.VIEWER),
    ("dashboard-connectors", _("Connectors"), Role.VIEWER),
    ("dashboard-imports", _("Import"), Role.MANAGER),
    ("dashboard-review-imports", _("Other portals"), Role.MANAGER),
    ("dashboard-webhooks", _("Webhooks"), Role.MANAGER),
    ("dashboard-settings", _("Settings"), Role.VIEWER),
    ("dashboard-team", _("Team"), Role.VIEWER),
    ("dashboard-notifications", _("Notifications"), Role.VIEWER),
    ("dashboard-privacy", _("Privacy"), Role.MANAGER),
]


class ShopRequest(HttpRequest):
    """A request to a shop's dashboard, with the shop and the member's place in it."""

    shop: Shop
    membership: Membership


def shop_page(*, role: str, write_role: str | None = None) -> Callable[[View], View]:
    """A view of the shop in the URL's `slug`, for members with `role` (reading) and
    `write_role` (any method but GET and HEAD; default: `role`)."""
    writing = write_role or role

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            needed = role if request.method in ("GET", "HEAD") else writing
            membership = membership_for_user(request.user, slug, role=needed)
            request.shop = membership.shop  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            with timezone.override(membership.shop.timezone):  # times as the shop reads them
                return view(request, **kwargs)

        wrapper.dashboard_role = role  # type: ignore[attr-defined]
        wrapper.dashboard_write_role = writing  # type: ignore[attr-defined]
        return wrapper

    return decorate


def require(request: ShopRequest, role: str) -> None:
    """For a view whose actions need different roles: 403 unless the member has `role`."""
    if not may(request.membership, role):
        raise PermissionDenied(f"this needs the role {role} or a stronger one")


def page(
    request: ShopRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """A dashboard page of the request's shop, in the frame with its sections."""
    membership = request.membership
    frame = {
        "shop": request.shop,
        "membership": membership,
        "sections": [(name, label) for name, label, least in SECTIONS if may(membership, least)],
        "can": {r.value: may(membership, r) for r in Role},
        "my_shops": shops_for_user(request.user),
    }
    return render(request, template, frame | (context or {}), status=status)
