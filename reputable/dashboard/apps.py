from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The merchant back office: views and templates; its writes go through the other apps' actions."""

    name = "reputable.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        # The notifications' kinds of due work register themselves (see reputable.dispatch.work).
        import reputable.dashboard.notifications  # noqa: F401
