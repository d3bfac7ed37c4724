from django.urls import path, re_path

from reputable.widgets import views

urlpatterns = [
    re_path(r"^(?P<name>embed\.js|frame\.js|widgets\.css)$", views.asset, name="widget-asset"),
    path("<slug:slug>/frame/<str:name>", views.frame, name="widget-frame"),
    path("<slug:slug>/brand.css", views.brand_stylesheet, name="widget-brand"),
    re_path(r"^(?P<slug>[-\w]+)/(?P<name>\w+)\.(?P<fmt>json|svg)$", views.widget, name="widget-data"),
    path("<slug:slug>/<str:name>", views.widget, name="widget"),
]
