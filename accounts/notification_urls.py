from django.urls import path

from accounts import notification_views as views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("read/", views.notification_read_all, name="notification_read_all"),
    path("badge/", views.notification_badge, name="notification_badge"),
    path("<uuid:code>/", views.notification_open, name="notification_open"),
]
