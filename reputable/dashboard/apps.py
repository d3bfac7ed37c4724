from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The merchant back office: views and templates; its writes go through the other apps' actions."""

    name = "reputable.dashboard"
    label = "dashboard"
