from django.urls import path

from reputable.integrations import views

app_name = "connectors"

urlpatterns = [
    path("<str:key>/", views.receive, name="receive"),
]
