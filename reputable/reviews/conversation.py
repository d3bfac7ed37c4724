"""`/r/<token>/messages`: the reviewer's side of the private conversation with the shop.

No account: the review link's token is the credential (an unknown one is counted as a failed
attempt, as on the review form). The shop's team sees the answers in the dashboard
(reputable.dashboard.views.messages).
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from reputable.invitations.messages import language_for
from reputable.invitations.views import invitation_of_link
from reputable.reviews.actions import MessageRefused, write_to_shop
from reputable.reviews.forms import MessageForm
from reputable.reviews.models import Review


@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the messages of the shop and the reviewer's own; POST: the reviewer's answer."""
    invitation = invitation_of_link(request, token)
    if isinstance(invitation, HttpResponse):
        return invitation
    review = Review.objects.filter(invitation=invitation).select_related("shop").first()
    if review is None:
        return redirect("review-form", token)  # nothing written yet: nothing to talk about
    now = timezone.now()
    with translation.override(language_for(review.locale, review.shop)):
        form = MessageForm(request.POST) if request.method == "POST" else MessageForm()
        status = 200
        if form.is_bound:
            if form.is_valid():
                try:
                    write_to_shop(review=review, body=form.cleaned_data["body"], now=now)
                except MessageRefused as refused:
                    form.add_error("body", str(refused))
                    status = refused.status
                else:
                    return redirect(f"{request.path}?sent=1")
            else:
                status = 400
        return render(
            request,
            "reviews/conversation.html",
            {
                "shop": review.shop,
                "review": review,
                "token": token,
                "thread": list(review.messages.all()),
                "form": form,
                "editable": review.is_editable(now),
                "sent": request.GET.get("sent") == "1",
            },
            status=status,
        )
