from django.urls import path

from sandbox import views

app_name = "sandbox"

urlpatterns = [
    # Apikley (base URL .../sandbox/apikley; its file-upload host under /file-upload)
    path("apikley/api/v1/generate/upload-cover", views.apikley_upload_cover),
    path("apikley/api/v1/generate/record-info", views.apikley_record_info),
    path("apikley/api/v1/suno/cover/generate", views.apikley_cover_generate),
    path("apikley/api/v1/suno/cover/record-info", views.apikley_cover_record_info),
    path("apikley/api/v1/chat/credit", views.apikley_credit),
    path("apikley/file-upload/api/file-stream-upload", views.apikley_file_stream_upload),
    path("apikley/file-upload/files/<path:path>", views.apikley_uploaded_file),
    # apiin.one (base URL .../sandbox/apiinone/api/v1)
    path("apiinone/api/v1/audio/music/upload-cover/generate", views.apiinone_upload_cover),
    path("apiinone/api/v1/audio/music/upload-cover/status",
         views.apiinone_upload_cover_status),
    path("apiinone/api/v1/audio/music/cover/generate", views.apiinone_cover_generate),
    path("apiinone/api/v1/audio/music/cover/status", views.apiinone_cover_status),
    # Apiframe (base URL .../sandbox/apiframe)
    path("apiframe/v2/music/generate", views.apiframe_generate),
    path("apiframe/v2/music/suno/action", views.apiframe_action),
    path("apiframe/v2/jobs/<str:job_id>", views.apiframe_job),
    # Result files, with an expiry
    path("files/<str:task_id>/<str:name>", views.task_file, name="file"),
]
