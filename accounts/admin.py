"""The admin is where operators audit credits: the ledger is read-only here, and every
credit an operator moves goes through accounts.credits with the staff user as actor."""

import csv
import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from accounts import credits
from accounts.models import (
    AuditLog,
    CreditEntry,
    Invitation,
    Membership,
    Notification,
    ProviderKey,
    Role,
    User,
    Workspace,
    audit,
)


def owner_email(workspace_ref="pk"):
    """A subquery: the email of the owner of the workspace at `workspace_ref`."""
    return Subquery(
        Membership.objects.filter(workspace=OuterRef(workspace_ref), role=Role.OWNER)
        .values("user__email")[:1]
    )


def workspace_label(name, personal, owner):
    """Every personal workspace is called "Personal": operators see whose it is."""
    return f"{name} ({owner})" if personal and owner else name


class WorkspaceFilter(admin.RelatedOnlyFieldListFilter):
    """Filter by workspace, personal ones named by their owner."""

    def field_choices(self, field, request, model_admin):
        pks = model_admin.get_queryset(request).values_list(f"{field.name}__pk", flat=True)
        rows = (Workspace.objects.filter(pk__in=pks).annotate(owner=owner_email())
                .order_by("name", "pk").values_list("pk", "name", "personal", "owner"))
        return [(pk, workspace_label(name, personal, owner)) for pk, name, personal, owner in rows]


class WorkspaceColumn:
    """A list column naming the row's workspace, personal ones by their owner, without a
    query per row."""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(workspace_owner=owner_email("workspace"))

    @admin.display(description="workspace", ordering="workspace__name")
    def workspace_name(self, obj):
        workspace = obj.workspace
        if workspace is None:
            return "-"
        return workspace_label(workspace.name, workspace.personal, obj.workspace_owner)


class AuditedAdmin(admin.ModelAdmin):
    """Operators' edits leave an AuditLog row like everyone else's."""

    def _workspace(self, obj):
        return obj if isinstance(obj, Workspace) else getattr(obj, "workspace", None)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        action = "change" if change else "add"
        audit(
            self._workspace(obj), request.user, f"admin.{obj._meta.model_name}.{action}", obj,
            fields=sorted(form.changed_data),
        )

    def delete_model(self, request, obj):
        audit(self._workspace(obj), request.user, f"admin.{obj._meta.model_name}.delete", obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


# People -----------------------------------------------------------------------------------

class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("workspace", "user", "role", "monthly_cap", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user", "workspace")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ("email",)
    list_display = ("email", "first_name", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "notify_by_email")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "notify_by_email")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = [MembershipInline]


# Workspaces -------------------------------------------------------------------------------

class CreditChangeForm(forms.Form):
    amount = forms.IntegerField(
        help_text="Credits for each selected workspace: positive grants, negative takes away."
    )
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Shown in the workspace's credit history and the audit log.",
    )
    # Submitting the same form twice (a double click, a reload) moves credits once.
    token = forms.CharField(widget=forms.HiddenInput)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("Zero credits changes nothing.")
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why, for the audit trail.")
        return reason


def ledger_sum_subquery():
    entries = (
        CreditEntry.objects.filter(workspace=OuterRef("pk"))
        .order_by()
        .values("workspace")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(entries, output_field=IntegerField()), Value(0))


@admin.register(Workspace)
class WorkspaceAdmin(AuditedAdmin):
    list_display = ("name", "owner", "code", "personal", "balance", "ledger_sum", "created_at")
    list_filter = ("personal", ("created_at", admin.DateFieldListFilter))
    search_fields = ("name", "code", "memberships__user__email")
    readonly_fields = ("code", "credit_balance", "ledger_sum", "created_at")
    fields = ("name", "code", "personal", "credit_balance", "ledger_sum", "created_at")
    inlines = [MembershipInline]
    actions = ["grant_or_adjust_credits"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            ledger_total=ledger_sum_subquery(), owner_email=owner_email()
        )

    @admin.display(description="Owner", ordering="owner_email")
    def owner(self, obj):
        return obj.owner_email or "-"

    @admin.display(description="Balance", ordering="credit_balance")
    def balance(self, obj):
        return obj.credit_balance

    @admin.display(description="Ledger sum", ordering="ledger_total")
    def ledger_sum(self, obj):
        total = obj.ledger_total if hasattr(obj, "ledger_total") else credits.ledger_sum(obj)
        if total == obj.credit_balance:
            return total
        return format_html(
            '<strong class="disagrees" style="color:#ba2121">{} (balance differs by {})</strong>',
            total, f"{obj.credit_balance - total:+d}",
        )

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects + [o for o, _ in formset.changed_objects]:
            audit(obj.workspace, request.user, "admin.membership.change", obj, role=obj.role)
        for obj in formset.deleted_objects:
            audit(form.instance, request.user, "admin.membership.delete", obj)

    @admin.action(description="Grant or adjust credits", permissions=["change"])
    def grant_or_adjust_credits(self, request, queryset):
        form = CreditChangeForm(request.POST if "apply" in request.POST else None,
                                initial={"token": uuid.uuid4().hex})
        if form.is_valid():
            amount, reason = form.cleaned_data["amount"], form.cleaned_data["reason"]
            done = 0
            for workspace in queryset:
                key = f"admin:{form.cleaned_data['token']}:{workspace.code}"
                try:
                    if amount > 0:
                        credits.grant(workspace, amount, actor=request.user, note=reason,
                                      idempotency_key=key)
                    else:
                        credits.adjust(workspace, amount, actor=request.user, reason=reason,
                                       idempotency_key=key)
                    done += 1
                except credits.CreditError as error:
                    self.message_user(request, f"{workspace.name}: {error}", messages.ERROR)
            if done:
                self.message_user(
                    request, f"{amount:+d} credits for {done} workspace{'s' if done > 1 else ''}.",
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Grant or adjust credits",
            "opts": self.model._meta,
            "form": form,
            "workspaces": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/accounts/workspace/grant_credits.html", context)


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ("user", "workspace", "role", "monthly_cap", "created_at")
    list_filter = ("role", "workspace__personal")
    search_fields = ("user__email", "workspace__name", "workspace__code")
    autocomplete_fields = ("user", "workspace")
    readonly_fields = ("code", "created_at")
    list_select_related = ("user", "workspace")


@admin.register(Invitation)
class InvitationAdmin(AuditedAdmin):
    list_display = ("email", "workspace", "role", "invited_by", "sent_at", "expires_at", "status")
    list_filter = ("role", ("sent_at", admin.DateFieldListFilter))
    search_fields = ("email", "workspace__name", "workspace__code")
    readonly_fields = ("code", "invited_by", "created_at", "sent_at", "accepted_at", "accepted_by")
    autocomplete_fields = ("workspace",)
    list_select_related = ("workspace", "invited_by")

    @admin.display(description="Status")
    def status(self, obj):
        if obj.accepted_at:
            return "accepted"
        if obj.revoked_at:
            return "revoked"
        return "expired" if obj.is_expired else "pending"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(AuditLog)
class AuditLogAdmin(WorkspaceColumn, ReadOnlyAdmin):
    list_display = ("created_at", "workspace_name", "actor", "action", "target")
    list_filter = ("action", ("created_at", admin.DateFieldListFilter),
                   ("workspace", WorkspaceFilter))
    search_fields = ("action", "target", "actor__email", "workspace__name", "workspace__code")
    list_select_related = ("workspace", "actor")
    date_hierarchy = "created_at"


@admin.register(ProviderKey)
class ProviderKeyAdmin(ReadOnlyAdmin):
    """Which workspaces bring their own key: never the key, not even encrypted."""

    list_display = ("workspace", "provider", "last4", "set_by", "set_at", "retired_at")
    list_filter = ("provider", ("retired_at", admin.EmptyFieldListFilter))
    search_fields = ("workspace__name", "workspace__code")
    list_select_related = ("workspace", "set_by")
    fields = list_display

    def get_readonly_fields(self, request, obj=None):
        return self.fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "workspace", "kind", "message", "read_at",
                    "emailed_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("recipient__email", "workspace__name", "message")
    list_select_related = ("recipient", "workspace")


# The ledger -------------------------------------------------------------------------------

CSV_COLUMNS = [
    "created_at", "workspace", "workspace_code", "kind", "amount", "balance_after",
    "actor", "member", "job", "settles", "note", "idempotency_key",
]


@admin.register(CreditEntry)
class CreditEntryAdmin(WorkspaceColumn, ReadOnlyAdmin):
    list_display = (
        "created_at", "workspace_name", "kind", "amount", "balance_after", "actor", "member",
        "note",
    )
    list_filter = (
        "kind",
        ("created_at", admin.DateFieldListFilter),
        ("workspace", WorkspaceFilter),
        ("actor", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = (
        "workspace__name", "workspace__code", "note", "actor__email", "idempotency_key"
    )
    list_select_related = ("workspace", "actor", "member")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("export.csv", view(self.export_csv), name="accounts_creditentry_export"),
            path("reconciliation/", view(self.reconciliation), name="accounts_reconciliation"),
            *super().get_urls(),
        ]

    def export_csv(self, request):
        """The changelist as it is filtered and searched now, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        entries = self.get_changelist_instance(request).get_queryset(request)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="credit-entries-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for e in entries.select_related("job").iterator(chunk_size=1000):
            writer.writerow([
                e.created_at.isoformat(), e.workspace.name, e.workspace.code, e.kind, e.amount,
                e.balance_after, e.actor.email if e.actor else "",
                e.member.email if e.member else "", e.job.code if e.job else "",
                e.settles_id or "", e.note, e.idempotency_key or "",
            ])
        return response

    def reconciliation(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Credit reconciliation",
            "opts": self.model._meta,
            "rows": [
                {"workspace": ws, "balance": balance, "ledger": ledger, "difference": balance - ledger}
                for ws, balance, ledger in credits.disagreements()
            ],
            "workspace_count": Workspace.objects.count(),
        }
        return TemplateResponse(request, "admin/accounts/reconciliation.html", context)
