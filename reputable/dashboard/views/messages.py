"""The private conversation between the shop and a reviewer, on the dashboard's review page.

The review page (reputable.dashboard.views.inbox) includes `dashboard/inbox/_thread.html`
with `thread_context()`; the thread's form posts here. Reviewers answer at `/r/<token>/messages`
(reputable.reviews.conversation).
"""

from typing import Any

from django.contrib import messages as notices
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.reviews.actions import MessageRefused, write_to_reviewer
from reputable.reviews.forms import MessageForm
from reputable.reviews.models import Review
from reputable.shops.access import may, review_of


def thread_context(request: ShopRequest, review: Review, form: MessageForm | None = None) -> dict[str, Any]:
    """What `_thread.html` shows: every message of the review, oldest first, and the form to
    write (to a responder or stronger, when the review came through an invitation)."""
    return {
        "thread_review": review,
        "thread_messages": list(review.messages.select_related("author")),
        "thread_reachable": review.invitation_id is not None,
        "thread_may_write": may(request.membership, Role.RESPONDER),
        "thread_form": form or MessageForm(),
    }


@require_http_methods(["GET", "POST"])
@shop_page(role=Role.VIEWER, write_role=Role.RESPONDER)
def review_messages(request: ShopRequest, review_id: int) -> HttpResponse:
    """GET: the conversation on a page of its own; POST: a message to the reviewer."""
    review = review_of(request.shop, review_id)
    form = MessageForm(request.POST) if request.method == "POST" else None
    status = 200
    if form is not None:
        if form.is_valid():
            try:
                write_to_reviewer(
                    review=review, body=form.cleaned_data["body"], author=request.membership.user, now=timezone.now()
                )
            except MessageRefused as refused:
                form.add_error("body", str(refused))
                status = refused.status
            else:
                notices.success(request, _("Your message is on its way to the reviewer."))
                return redirect(reverse("dashboard-review", args=[request.shop.slug, review.pk]) + "#messages")
        else:
            status = 400
    return page(
        request,
        "dashboard/inbox/messages.html",
        {"review": review, "section": "dashboard-inbox"} | thread_context(request, review, form),
        status=status,
    )


urls = [path("reviews/<int:review_id>/messages", review_messages, name="dashboard-review-messages")]
