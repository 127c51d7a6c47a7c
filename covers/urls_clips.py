from django.urls import path

from covers import clip_views as views
from covers import files

urlpatterns = [
    path("clips/", views.clip_list, name="clip_list"),
    path("clips/upload/", views.clip_upload, name="clip_upload"),
    path("clips/upload/direct/", views.clip_upload_direct, name="clip_upload_direct"),
    path("clips/upload/verify/", views.clip_upload_verify, name="clip_upload_verify"),
    path("clips/<str:code>/", views.clip_detail, name="clip_detail"),
    path("clips/<str:code>/play/", views.clip_play, name="clip_play"),
    path("clips/<str:code>/download/", views.clip_download, name="clip_download"),
    path("clips/<str:code>/rename/", views.clip_rename, name="clip_rename"),
    path("clips/<str:code>/delete/", views.clip_delete, name="clip_delete"),
    path("clips/<str:code>/trim/", views.clip_trim, name="clip_trim"),
    path("files/<str:token>/", files.serve_signed_file, name="signed_file"),
]
