from typing import Any

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest


class ReputableConfig(AppConfig):
    """The platform itself: its commands (serve, demo), templates, static files and admin site."""

    name = "reputable"

    def ready(self) -> None:
        user_login_failed.connect(count_failed_login, dispatch_uid="reputable.count_failed_login")


class AdminConfig(DjangoAdminConfig):
    default_site = "reputable.admin.AdminSite"


def count_failed_login(sender: Any, credentials: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    from reputable.lib import ratelimit

    if request is not None:
        ratelimit.failed("login", request)
