"""The Django admin for staff, whose logins are limited per address like every other credential."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from reputable.lib import ratelimit
from reputable.lib.http import too_many_attempts_page


class AdminSite(admin.AdminSite):
    site_header = "Reputable"
    site_title = "Reputable admin"

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Failed logins are counted by reputable.apps.count_failed_login.
        if request.method == "POST" and (retry_after := ratelimit.blocked("login", request)):
            return too_many_attempts_page(request, retry_after)
        return super().login(request, extra_context)
