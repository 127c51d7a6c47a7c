from django.urls import path

from accounts import credit_views
from accounts import workspace_views as views

urlpatterns = [
    path("", views.workspace_list, name="workspace_list"),
    path("new/", views.workspace_create, name="workspace_create"),
    path("switch/", views.workspace_switch, name="workspace_switch"),
    path("<uuid:code>/", views.workspace_detail, name="workspace_detail"),
    path("<uuid:code>/rename/", views.workspace_rename, name="workspace_rename"),
    path("<uuid:code>/leave/", views.workspace_leave, name="workspace_leave"),
    path("<uuid:code>/invitations/", views.invitation_create, name="invitation_create"),
    path(
        "<uuid:code>/invitations/<uuid:invitation_code>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "<uuid:code>/invitations/<uuid:invitation_code>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("<uuid:code>/members/<uuid:member_code>/role/", views.member_role, name="member_role"),
    path("<uuid:code>/members/<uuid:member_code>/cap/", views.member_cap, name="member_cap"),
    path(
        "<uuid:code>/members/<uuid:member_code>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "<uuid:code>/members/<uuid:member_code>/transfer/",
        views.member_transfer,
        name="member_transfer",
    ),
    path("<uuid:code>/defaults/", views.workspace_defaults, name="workspace_defaults"),
    path("<uuid:code>/keys/<str:provider>/", views.provider_key_set, name="provider_key_set"),
    path(
        "<uuid:code>/keys/<str:provider>/remove/",
        views.provider_key_remove,
        name="provider_key_remove",
    ),
    path("<uuid:code>/credits/", credit_views.credits, name="credits"),
    path("<uuid:code>/credits.csv", credit_views.credits_csv, name="credits_csv"),
]
