"""`/dashboard/`: your shops; `/dashboard/<slug>/`: one shop at a glance."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_safe

from reputable.dashboard.base import Role, ShopRequest, page, shop_page
from reputable.reviews.ratings import Rating
from reputable.reviews.summaries import summarise
from reputable.shops.access import shops_for_user


@require_safe
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    shops = shops_for_user(request.user)
    if len(shops) == 1:
        return redirect("dashboard-overview", shops[0][0].slug)
    can_open_shop = settings.ALLOW_SHOP_CREATION or request.user.is_staff
    return render(request, "dashboard/shops.html", {"my_shops": shops, "can_open_shop": can_open_shop})


@require_safe
@shop_page(role=Role.VIEWER)
def overview(request: ShopRequest) -> HttpResponse:
    shop = request.shop
    summaries = summarise(shop=shop, today=timezone.now().date())
    return page(
        request,
        "dashboard/overview.html",
        {
            "all_time": Rating.of(summaries.all_time),
            "last_12_months": Rating.of(summaries.last_12_months),
        },
    )


urls = [path("", dashboard, name="dashboard")]
shop_urls = [path("", overview, name="dashboard-overview")]
