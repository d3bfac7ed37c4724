from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reputable.reviews"
    label = "reviews"
