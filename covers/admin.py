from django.contrib import admin

from covers.models import (
    ArtImage,
    CoverJob,
    JobEvent,
    ProviderCall,
    ProviderEvent,
    SourceClip,
    Track,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class JobEventInline(ReadOnlyInline):
    model = JobEvent
    fields = ("created_at", "state", "message")
    readonly_fields = fields


class ProviderEventInline(ReadOnlyInline):
    model = ProviderEvent
    fields = ("received_at", "source", "status", "note", "dedupe_key")
    readonly_fields = fields


class ProviderCallInline(ReadOnlyInline):
    model = ProviderCall
    fields = ("created_at", "method", "endpoint", "attempt", "status_code", "duration_ms", "error")
    readonly_fields = fields


class TrackInline(ReadOnlyInline):
    model = Track
    fields = ("position", "title", "provider_track_id", "duration", "audio", "image",
              "audio_url", "provider_urls_expire_at", "favourite")
    readonly_fields = fields


class ArtImageInline(ReadOnlyInline):
    model = ArtImage
    fields = ("position", "image", "url", "url_expires_at")
    readonly_fields = fields


@admin.register(CoverJob)
class CoverJobAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "provider", "sandbox", "state", "workspace", "created_by",
                    "credits_held", "credits_charged", "error_code", "created_at")
    list_filter = ("state", "kind", "provider", "sandbox", "imported",
                   ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("code", "title", "style", "provider_task_id", "workspace__name",
                     "created_by__email")
    list_select_related = ("workspace", "created_by")
    date_hierarchy = "created_at"
    # Jobs change through services only (ledger and timeline in the same transaction).
    readonly_fields = [f.name for f in CoverJob._meta.fields if f.name != "callback_token"]
    exclude = ("callback_token",)
    inlines = [TrackInline, ArtImageInline, JobEventInline, ProviderEventInline,
               ProviderCallInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "provider", "source", "status", "job", "note")
    list_filter = ("provider", "source", "status")
    search_fields = ("dedupe_key", "job__code", "note")
    list_select_related = ("job",)
    readonly_fields = [f.name for f in ProviderEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProviderCall)
class ProviderCallAdmin(admin.ModelAdmin):
    list_display = ("created_at", "provider", "method", "endpoint", "attempt", "status_code",
                    "duration_ms", "job")
    list_filter = ("provider", "method", "status_code")
    search_fields = ("endpoint", "job__code", "error")
    list_select_related = ("job",)
    readonly_fields = [f.name for f in ProviderCall._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SourceClip)
class SourceClipAdmin(admin.ModelAdmin):
    list_display = ("original_name", "workspace", "uploaded_by", "format", "duration", "size",
                    "created_at")
    list_filter = ("format",)
    search_fields = ("original_name", "code", "sha256", "workspace__name")
    list_select_related = ("workspace", "uploaded_by")
    readonly_fields = [f.name for f in SourceClip._meta.fields]


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("__str__", "job", "position", "duration", "favourite", "created_at")
    search_fields = ("title", "code", "provider_track_id", "job__code")
    list_select_related = ("job",)
    readonly_fields = [f.name for f in Track._meta.fields if f.name != "favourite"]
