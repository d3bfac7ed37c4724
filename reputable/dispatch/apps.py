from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class DispatchConfig(AppConfig):
    name = "reputable.dispatch"
    label = "dispatch"

    def ready(self) -> None:
        # The kinds of due work register themselves: the outbox's here, each app's in its
        # `dispatch` module (reputable.invitations.dispatch, ...).
        import reputable.dispatch.outbox  # noqa: F401

        autodiscover_modules("dispatch")
