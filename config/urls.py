from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from config import health

urlpatterns = [
    path("", account_views.landing, name="landing"),
    path("home/", account_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("workspaces/", include("accounts.workspace_urls")),
    path("notifications/", include("accounts.notification_urls")),
    path("invitations/<str:token>/", account_views.invitation_accept, name="invitation_accept"),
    path("admin/", admin.site.urls),
    path("sandbox/", include("sandbox.urls")),
    path("", include("covers.urls")),
]
