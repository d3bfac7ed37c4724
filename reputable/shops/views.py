"""The shop's own public files: its logo at /s/<slug>/logo.png."""

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_safe

from reputable.lib.http import public_response
from reputable.shops.access import public_logo

# As long as a widget: a new logo shows within minutes, a repeat visit revalidates by ETag.
MAX_AGE = 300
STALE_WHILE_REVALIDATE = 86_400


@require_safe
def logo(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The logo as stored: a PNG made from the upload's pixels (reputable.shops.logos)."""
    response = HttpResponse(public_logo(slug), content_type="image/png")
    return public_response(request, response, max_age=MAX_AGE, swr=STALE_WHILE_REVALIDATE)
