from django.urls import path

from covers import hooks, views

urlpatterns = [
    path("library/", views.job_list, name="job_list"),
    path("covers/new/", views.cover_new, name="cover_new"),
    path("covers/import/", views.job_import, name="job_import"),
    path("clips/<str:code>/cover/", views.clip_cover, name="clip_cover"),
    path("tracks/<str:code>/cover/", views.track_cover, name="track_cover"),
    path("tracks/<str:code>/favourite/", views.track_favourite, name="track_favourite"),
    path("jobs/<str:code>/", views.job_detail, name="job_detail"),
    path("jobs/<str:code>/status/", views.job_status, name="job_status"),
    path("jobs/<str:code>/art/", views.job_art, name="job_art"),
    path("jobs/<str:code>/delete/", views.job_delete, name="job_delete"),
    path("jobs/<str:code>/rename/", views.job_rename, name="job_rename"),
    path("hooks/<str:provider>/<str:token>/", hooks.provider_callback, name="provider_callback"),
]
