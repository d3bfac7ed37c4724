from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from reputable.api import api
from reputable.dashboard.accounts import login_link
from reputable.invitations import bounces
from reputable.invitations.views import unsubscribe
from reputable.lib import mailbox
from reputable.moderation import public as moderation_public
from reputable.moderation import reviewer
from reputable.reviews.conversation import conversation
from reputable.reviews.views import how_reviews_work, profile, review_form, review_page
from reputable.shops.views import logo
from reputable.widgets.feeds import google_product_reviews
from reputable.widgets.views import demo_shop

urlpatterns = [
    path("api/v1/", api.urls),
    # The email providers' tracking webhooks: bounces and complaints (reputable/invitations/bounces.py).
    path("anymail/", include((bounces.urlpatterns, "anymail"))),
    # Pages without our frame (the API docs, the admin) have no icon link: browsers ask here.
    path("favicon.ico", RedirectView.as_view(url=static("reputable/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/link/<str:uid>/<str:token>", login_link, name="login-link"),
    path("accounts/", include("allauth.urls")),
    # Where the shop systems' connectors deliver their webhooks (reputable/integrations/).
    path("connectors/", include("reputable.integrations.urls")),
    # Other review platforms' APIs, for clients written for them (reputable/integrations/).
    path("compat/feedbackcompany/", include("reputable.integrations.feedbackcompany")),
    path("compat/etrusted/", include("reputable.integrations.etrusted")),
    path("compat/kiyoh/", include("reputable.integrations.kiyoh")),
    path("dashboard/", include("reputable.dashboard.urls")),
    path("moderation/", include("reputable.moderation.urls")),
    path("r/<str:token>", review_form, name="review-form"),
    path("r/<str:token>/messages", conversation, name="review-messages"),
    path("r/<str:token>/disputes/<int:dispute_id>", reviewer.dispute_page, name="dispute-reviewer"),
    path("u/<str:token>", unsubscribe, name="unsubscribe"),
    path("s/<slug:slug>/", profile, name="profile"),
    path("s/<slug:slug>/how-reviews-work", how_reviews_work, name="how-reviews-work"),
    path("s/<slug:slug>/logo.png", logo, name="shop-logo"),
    path("s/<slug:slug>/reviews/<int:review_id>", review_page, name="review-page"),
    # Anyone's notice about a review (DSA Art. 16), and its confirmation link.
    path("s/<slug:slug>/reviews/<int:review_id>/report", moderation_public.notice_form, name="notice-form"),
    path("notices/<str:token>", moderation_public.notice_link, name="notice"),
    path("transparency", moderation_public.transparency_page, name="transparency"),
    path("w/", include("reputable.widgets.urls")),
    path("feeds/<slug:slug>/google-product-reviews.xml", google_product_reviews, name="google-product-reviews"),
    path("demo/shop/", demo_shop, name="demo-shop"),
    path("demo/mailbox/", mailbox.inbox, name="mailbox"),
    path("demo/mailbox/<str:name>", mailbox.message, name="mailbox-message"),
]
