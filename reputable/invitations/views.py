"""The customer's objection: the unsubscribe page and RFC 8058 one-click POST."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from reputable.invitations.actions import suppress_address
from reputable.invitations.messages import invitation_language
from reputable.invitations.models import Invitation, Suppression


# The link's token is the credential (192 random bits, known only to the addressee), and
# mail providers send the one-click POST without cookies, so a CSRF token cannot be asked for.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and changes nothing; POST suppresses the address for the shop."""
    invitation = get_object_or_404(Invitation.objects.select_related("shop"), token=token)
    done = request.method == "POST"
    if done:
        suppress_address(email=invitation.email, reason=Suppression.Reason.UNSUBSCRIBED, shop=invitation.shop)
    with translation.override(invitation_language(invitation)):
        return render(
            request,
            "invitations/unsubscribe.html",
            {"shop": invitation.shop, "done": done},
        )
