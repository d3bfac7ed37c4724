"""The customer's links: finding the invitation a link names, and the objection page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reputable.invitations.actions import suppress_address
from reputable.invitations.messages import invitation_language
from reputable.invitations.models import Invitation, Suppression
from reputable.lib import ratelimit
from reputable.lib.http import too_many_attempts_page
from reputable.shops.access import invitation_for_token


def invitation_of_link(request: HttpRequest, token: str) -> Invitation | HttpResponse:
    """The invitation a review or unsubscribe link names, or the answer to a link that names
    none: 404, or 429 once the address has tried too many such links."""
    invitation = invitation_for_token(token)
    if invitation is not None:
        return invitation
    if retry_after := ratelimit.failed("link-token", request):
        return too_many_attempts_page(request, retry_after)
    return render(request, "invitations/link_unknown.html", status=404)


# The link's token is the credential (192 random bits, known only to the addressee), and
# mail providers send the one-click POST without cookies, so a CSRF token cannot be asked for.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET (and HEAD) shows a button and changes nothing; POST suppresses the address for the shop."""
    invitation = invitation_of_link(request, token)
    if isinstance(invitation, HttpResponse):
        return invitation
    done = request.method == "POST"
    if done:
        suppress_address(
            email=invitation.email, reason=Suppression.Reason.UNSUBSCRIBED, shop=invitation.shop, source="unsubscribe"
        )
    with translation.override(invitation_language(invitation)):
        return render(request, "invitations/unsubscribe.html", {"shop": invitation.shop, "done": done})
