"""The team section: who is on a shop's team with which role, invitations, and deleting the shop.

Every member may see the team; only an owner invites, changes roles, removes members and
deletes the shop. An invitation is an email with a link to `/dashboard/join/<token>`: whoever
opens it logged in with the invited address (after signing up or logging in, if need be) joins
the team. The rules (one owner at least, only the addressee joins, once) are the actions' in
reputable.shops.actions.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from reputable.dashboard.accounts import INVITATION_SESSION_KEY
from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.dashboard.templatetags.roles import ROLE_NAMES, ROLES
from reputable.lib import ratelimit
from reputable.lib.emails import AddressError
from reputable.lib.http import too_many_attempts_page
from reputable.shops.access import member_of, team_invitation_for_token, team_invitation_of
from reputable.shops.actions import (
    TeamChangeRefused,
    accept_team_invitation,
    change_member_role,
    delete_shop,
    invite_to_team,
    remove_member,
)
from reputable.shops.models import Membership, TeamInvitation

ROLE_CHOICES = [(role.value, name) for role, name, _duties in ROLES]
STRONGEST_FIRST = [role.value for role, _name, _duties in reversed(ROLES)]


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address"), max_length=254)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class DeleteShopForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Type the shop's name to confirm"), max_length=200, strip=True)

    def __init__(self, *args: Any, shop_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shop_name = shop_name

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if name != self.shop_name:
            raise forms.ValidationError(_("That is not the shop's name: nothing was deleted."))
        return name


def team_page(
    request: ShopRequest,
    *,
    invite_form: InviteForm | None = None,
    delete_form: DeleteShopForm | None = None,
    row_errors: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The team page; after a refused action, with its form or its error in the member's row."""
    shop = request.shop
    members = sorted(
        Membership.objects.filter(shop=shop).select_related("user"),
        key=lambda m: (STRONGEST_FIRST.index(m.role), m.user.email, m.pk),
    )
    invitations = TeamInvitation.objects.filter(shop=shop, accepted_at=None).select_related("invited_by")
    context = {
        "section": "dashboard-team",
        "members": [(m, (row_errors or {}).get(m.pk)) for m in members],
        "invitations": invitations.order_by("-created_at", "pk"),
        "invitation_days": TeamInvitation.VALID_FOR.days,
        "roles": ROLES,
        "role_choices": ROLE_CHOICES,
        "invite_form": invite_form or InviteForm(),
        "delete_form": delete_form or DeleteShopForm(shop_name=shop.name),
    }
    return page(request, "dashboard/team.html", context, status=status)


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.OWNER)
def team(request: ShopRequest) -> HttpResponse:
    """GET: the members and open invitations; POST: invite an address."""
    if request.method == "GET":
        return team_page(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = invite_to_team(
                shop=request.shop,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.membership.user,
                language=get_language(),
            )
        except AddressError:
            form.add_error("email", _("No email can be sent to this address."))
        except TeamChangeRefused as refusal:
            form.add_error("email", str(refusal))
        else:
            messages.success(request, _("The invitation to %(email)s is on its way.") % {"email": invitation.email})
            return redirect("dashboard-team", request.shop.slug)
    return team_page(request, invite_form=form, status=400)


@require_POST
@shop_page(role=Role.OWNER)
def member_role(request: ShopRequest, membership_id: int) -> HttpResponse:
    membership = member_of(request.shop, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return team_page(request, row_errors={membership.pk: _("Choose one of the roles.")}, status=400)
    try:
        change_member_role(membership=membership, role=form.cleaned_data["role"])
    except TeamChangeRefused as refusal:
        return team_page(request, row_errors={membership.pk: str(refusal)}, status=400)
    role = ROLE_NAMES[membership.role]
    messages.success(request, _("%(email)s is now %(role)s.") % {"email": membership.user.email, "role": role})
    return redirect("dashboard-team", request.shop.slug)


@require_POST
@shop_page(role=Role.OWNER)
def member_remove(request: ShopRequest, membership_id: int) -> HttpResponse:
    membership = member_of(request.shop, membership_id)
    try:
        remove_member(membership=membership)
    except TeamChangeRefused as refusal:
        return team_page(request, row_errors={membership.pk: str(refusal)}, status=400)
    messages.success(request, _("%(email)s is off the team.") % {"email": membership.user.email})
    if membership.user_id == request.user.pk:
        return redirect("dashboard")  # an owner who left
    return redirect("dashboard-team", request.shop.slug)


@require_POST
@shop_page(role=Role.OWNER)
def invitation_cancel(request: ShopRequest, team_invitation_id: int) -> HttpResponse:
    invitation = team_invitation_of(request.shop, team_invitation_id)
    invitation.delete()  # its link stops working: nothing else refers to it
    messages.success(request, _("The invitation to %(email)s is cancelled.") % {"email": invitation.email})
    return redirect("dashboard-team", request.shop.slug)


@require_POST
@shop_page(role=Role.OWNER)
def shop_delete(request: ShopRequest) -> HttpResponse:
    form = DeleteShopForm(request.POST, shop_name=request.shop.name)
    if not form.is_valid():
        return team_page(request, delete_form=form, status=400)
    name = request.shop.name
    delete_shop(shop=request.shop)
    messages.success(request, _("%(name)s and all its data are deleted.") % {"name": name})
    return redirect("dashboard")


@require_http_methods(["GET", "HEAD", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a team invitation: logged in with the invited address, the visitor joins
    with its button (a POST: a mail scanner or a browser's prefetch that opens the link joins
    nobody); anyone else is asked to log in or sign up with it."""
    invitation = team_invitation_for_token(token)
    if invitation is None:
        if retry_after := ratelimit.failed("link-token", request):
            return too_many_attempts_page(request, retry_after)
        return render(request, "dashboard/team_join.html", {"unknown": True}, status=404)
    context = {"invitation": invitation, "next": request.path}
    if not request.user.is_authenticated:
        request.session[INVITATION_SESSION_KEY] = invitation.pk
        return render(request, "dashboard/team_join.html", context)
    if request.method != "POST":
        return render(request, "dashboard/team_join.html", context | {"ready": True})
    try:
        accept_team_invitation(invitation=invitation, user=request.user)  # type: ignore[arg-type]
    except TeamChangeRefused as refusal:
        return render(request, "dashboard/team_join.html", context | {"refusal": str(refusal)}, status=403)
    request.session.pop(INVITATION_SESSION_KEY, None)
    messages.success(request, _("Welcome to the team of %(shop)s.") % {"shop": invitation.shop.name})
    return redirect("dashboard-overview", invitation.shop.slug)


urls = [
    path("team", team, name="dashboard-team"),
    path("team/members/<int:membership_id>/role", member_role, name="dashboard-member-role"),
    path("team/members/<int:membership_id>/remove", member_remove, name="dashboard-member-remove"),
    path(
        "team/invitations/<int:team_invitation_id>/cancel", invitation_cancel, name="dashboard-team-invitation-cancel"
    ),
    path("delete", shop_delete, name="dashboard-delete-shop"),
]
public_urls = [path("join/<str:token>", join, name="dashboard-join")]
