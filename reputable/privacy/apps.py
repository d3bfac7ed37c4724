from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "reputable.privacy"
    label = "privacy"
