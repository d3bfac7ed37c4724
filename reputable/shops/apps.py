from django.apps import AppConfig


class ShopsConfig(AppConfig):
    name = "reputable.shops"
    label = "shops"
