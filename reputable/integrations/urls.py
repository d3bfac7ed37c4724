from django.urls import path

from reputable.integrations import shopware, views

app_name = "connectors"

urlpatterns = [
    path("<str:key>/", views.receive, name="receive"),
    # Shopware 6's app registration: the handshake, then its confirmation.
    path("<str:key>/shopware/register", shopware.registration, name="shopware-register"),
    path("<str:key>/shopware/confirm", shopware.confirmation, name="shopware-confirm"),
]
