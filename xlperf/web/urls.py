"""The portal's addresses: /u/<link>/ for a unit, /office/ for the finance office, /admin/ its back-office."""
from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from . import views

portal_patterns = [
    path("", views.home, name="home"),
    path("u/<str:token>/", views.unit_page, name="unit"),
    path("u/<str:token>/template", views.unit_template, name="unit_template"),
    path("u/<str:token>/v/<int:number>/file", views.unit_file, name="unit_file"),
    path("u/<str:token>/v/<int:number>/annotated", views.unit_annotated, name="unit_annotated"),
    path("office/login/", views.OfficeLogin.as_view(), name="login"),
    path("office/logout/", LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("office/", views.rounds, name="rounds"),
    path("office/round/new/", views.new_round, name="new_round"),
    path("office/round/<int:round_id>/", views.dashboard, name="dashboard"),
    path("office/round/<int:round_id>/missing/", views.missing, name="missing"),
    path("office/round/<int:round_id>/unit/<int:unit_id>/", views.office_unit, name="office_unit"),
    path("office/round/<int:round_id>/<str:kind>/", views.office_output, name="output"),
    path("office/version/<int:version_id>/<str:kind>", views.office_file, name="office_file"),
]
urlpatterns = [path("", include((portal_patterns, "portal"))), path("admin/", admin.site.urls)]
