"""The dashboard's URLs: `/dashboard/` lists your shops, `/dashboard/<slug>/...` is one shop's.

Every view under `<slug>/` is a `@shop_page` (reputable.dashboard.base); the permission tests
walk this URLconf and fail for a view that is not.
"""

from django.urls import include, path

from reputable.dashboard.views import (
    analytics,
    disputes,
    home,
    inbox,
    messages,
    newshop,
    notifications,
    pipeline,
    rules,
    settings,
    team,
    wording,
)
from reputable.integrations import dashboard as connectors
from reputable.integrations import imports_views, review_imports_views
from reputable.privacy import views as privacy
from reputable.webhooks import views as webhooks

shop_urls = [
    *home.shop_urls,
    *inbox.urls,
    *disputes.urls,
    *messages.urls,
    *pipeline.urls,
    *rules.urls,
    *wording.urls,
    *analytics.urls,
    *settings.urls,
    *team.urls,
    *notifications.shop_urls,
    *privacy.urls,
    *connectors.urls,
    *imports_views.urls,
    *review_imports_views.urls,
    *webhooks.urls,
]

urlpatterns = [
    *home.urls,
    *newshop.urls,
    *team.public_urls,
    *notifications.public_urls,
    path("<slug:slug>/", include(shop_urls)),
]
