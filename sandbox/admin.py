from django.contrib import admin

from sandbox.models import SandboxTask


@admin.register(SandboxTask)
class SandboxTaskAdmin(admin.ModelAdmin):
    list_display = ["task_id", "provider", "kind", "status", "error_code", "created_at"]
    list_filter = ["provider", "kind", "status"]
    search_fields = ["task_id"]
    readonly_fields = [f.name for f in SandboxTask._meta.fields]
