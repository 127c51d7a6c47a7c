from django.urls import include, path

urlpatterns = [
    path("", include("covers.urls_clips")),
    path("", include("covers.urls_jobs")),
]
