"""Workspace settings: default provider and model, and the workspace's own provider keys
("bring your own key"): encrypted at rest, never shown or audited in full, owners only."""

import json
import uuid

import pytest
from django.db import connection

from accounts import crypto
from accounts.models import AuditLog, ProviderKey, Role, Workspace
from tests.base import set_role

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
SECRET = "sk-live-0123456789abcdefWXYZ"


def key_url(cast, provider="apikley"):
    return f"/workspaces/{cast.team.code}/keys/{provider}/"


def set_key(client, cast, provider="apikley", value=SECRET, **extra):
    return client.post(key_url(cast, provider),
                       {f"{provider}-provider": provider, f"{provider}-api_key": value}, **extra)


def changes(cast):
    return [
        (f"/workspaces/{cast.team.code}/defaults/",
         {"default_provider": "apikley", "default_model": "V4"}, Role.ADMIN),
        (key_url(cast), {"apikley-provider": "apikley", "apikley-api_key": SECRET}, Role.OWNER),
        (f"/workspaces/{cast.team.code}/keys/apikley/remove/", {}, Role.OWNER),
    ]


# Access -----------------------------------------------------------------------------------

def test_every_change_refuses_get(alice_client, cast):
    for url, _, _ in changes(cast):
        assert alice_client.get(url).status_code == 405, url


def test_every_change_is_404_for_an_outsider_or_a_bad_code(charlie_client, cast):
    for url, data, _ in changes(cast):
        assert charlie_client.post(url, data).status_code == 404, url
        bad = url.replace(str(cast.team.code), str(uuid.uuid4()))
        assert charlie_client.post(bad, data).status_code == 404, bad
    assert not ProviderKey.objects.exists()


def test_members_and_admins_cannot_touch_keys(bob_client, cast):
    for url, data, _ in changes(cast):
        assert bob_client.post(url, data).status_code == 403, url
    set_role(cast.bob, cast.team, Role.ADMIN)
    assert set_key(bob_client, cast).status_code == 403
    assert bob_client.post(f"/workspaces/{cast.team.code}/keys/apikley/remove/").status_code == 403
    assert not ProviderKey.objects.exists()


def test_an_unknown_provider_is_404_for_the_owner(alice_client, cast):
    assert set_key(alice_client, cast, provider="suno").status_code == 404
    assert alice_client.post(f"/workspaces/{cast.team.code}/keys/suno/remove/").status_code == 404


# Keys -------------------------------------------------------------------------------------

def test_owner_sets_a_key_encrypted_at_rest(alice_client, cast):
    response = set_key(alice_client, cast)
    assert response.status_code == 302
    assert response["Location"] == f"/workspaces/{cast.team.code}/"
    key = ProviderKey.objects.get()
    assert (key.workspace, key.provider, key.last4, key.set_by) == (
        cast.team, "apikley", "WXYZ", cast.alice)
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_key FROM accounts_providerkey")
        (raw,) = cursor.fetchone()
    assert SECRET not in raw and "0123456789" not in raw
    assert crypto.decrypt(raw) == SECRET == key.plaintext()


def test_the_key_never_comes_back_in_a_page_or_the_audit_log(alice_client, cast):
    responses = [set_key(alice_client, cast, **HX), set_key(alice_client, cast, follow=True)]
    responses += [alice_client.get(f"/workspaces/{cast.team.code}/"),
                  alice_client.get(f"/workspaces/{cast.team.code}/", **HX)]
    for response in responses:
        html = response.content.decode()
        assert SECRET not in html and "0123456789abcdef" not in html
    page = responses[-1].content.decode()
    assert "…WXYZ" in page and "Replace key" in page
    logs = AuditLog.objects.filter(action__startswith="provider_key")
    assert [log.action for log in logs] == ["provider_key.replace", "provider_key.set"]
    dumped = json.dumps([[log.target, log.data] for log in AuditLog.objects.all()])
    assert SECRET not in dumped and "0123456789" not in dumped


def test_htmx_gets_the_keys_section_and_a_plain_post_the_page(alice_client, cast):
    response = set_key(alice_client, cast, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert html.lstrip().startswith('<section id="keys"') and "<html" not in html
    assert "Saved the Apikley key ending in WXYZ" in html
    response = set_key(alice_client, cast, value="another-key-ending-1234", follow=True)
    assert "<html" in response.content.decode()
    assert "ending in 1234" in response.content.decode()


def test_replacing_keeps_one_live_key_and_removing_retires_it(alice_client, cast):
    set_key(alice_client, cast)
    set_key(alice_client, cast, value="a-second-key-9876")
    assert ProviderKey.objects.filter(retired_at=None).get().last4 == "9876"
    assert ProviderKey.objects.count() == 2  # the first stays for the jobs it submitted
    response = alice_client.post(f"/workspaces/{cast.team.code}/keys/apikley/remove/", **HX)
    assert response.status_code == 200 and "Removed the Apikley key" in response.content.decode()
    assert not ProviderKey.objects.filter(retired_at=None).exists()
    assert AuditLog.objects.filter(action="provider_key.remove", target="Apikley").exists()
    again = alice_client.post(f"/workspaces/{cast.team.code}/keys/apikley/remove/", **HX)
    assert "no key for that provider" in again.content.decode()


def test_a_blank_or_short_key_is_refused_in_place(alice_client, cast):
    response = set_key(alice_client, cast, value="short", **HX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "too short to be an API key" in html and 'value="short"' not in html
    assert set_key(alice_client, cast, value="   ").status_code == 400
    assert not ProviderKey.objects.exists()


def test_members_see_which_key_new_jobs_use_but_no_forms(bob_client, cast, settings):
    settings.SANDBOX_PROVIDER = False
    settings.APIKLEY_API_KEY = ""
    settings.APIINONE_API_KEY = "site-key"
    from accounts import services

    services.set_provider_key(cast.membership(cast.alice), "apiframe", "frame-key-5555")
    page = bob_client.get(f"/workspaces/{cast.team.code}/").content.decode()
    assert "…5555" in page and "Only owners add, replace or remove keys." in page
    assert "Save key" not in page and "Remove key" not in page
    rows = {r["provider"]: r["uses"] for r in
            bob_client.get(f"/workspaces/{cast.team.code}/").context["keys"]}
    assert rows == {"apikley": "the sandbox", "apiinone": "the site's key",
                    "apiframe": "your key"}


# Defaults ---------------------------------------------------------------------------------

def test_admin_sets_defaults_and_members_see_them(client, cast):
    set_role(cast.bob, cast.team, Role.ADMIN)
    client.force_login(cast.bob)
    url = f"/workspaces/{cast.team.code}/defaults/"
    response = client.post(url, {"default_provider": "apikley", "default_model": "V4"}, **HX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="defaults"')
    team = Workspace.objects.get(pk=cast.team.pk)
    assert (team.default_provider, team.default_model) == ("apikley", "V4")
    assert AuditLog.objects.filter(action="workspace.defaults", actor=cast.bob).exists()

    set_role(cast.bob, cast.team, Role.MEMBER)
    page = client.get(f"/workspaces/{cast.team.code}/").content.decode()
    assert "New covers start with" in page and "Apikley V4" in page
    assert "Save defaults" not in page


def test_a_model_of_another_provider_is_refused(alice_client, cast):
    url = f"/workspaces/{cast.team.code}/defaults/"
    response = alice_client.post(url, {"default_provider": "apiframe", "default_model": "V4"})
    assert response.status_code == 400
    assert "Choose a model of the default provider." in response.content.decode()
    assert Workspace.objects.get(pk=cast.team.pk).default_provider == ""
    response = alice_client.post(url, {"default_provider": "", "default_model": ""})
    assert response.status_code == 302


def test_the_cover_form_starts_with_the_defaults(alice_client, cast, tmp_path):
    from covers.models import SourceClip
    from tests.audio import make_tone

    Workspace.objects.filter(pk=cast.team.pk).update(default_provider="apikley",
                                                     default_model="V4_5")
    path = make_tone(tmp_path / "a.mp3", seconds=4)
    with path.open("rb") as f:
        from tests.base import use_workspace

        use_workspace(alice_client, cast.team)
        alice_client.post("/clips/upload/", {"file": f})
    clip = SourceClip.objects.get(workspace=cast.team)
    form = alice_client.get(f"/clips/{clip.code}/cover/").context["form"]
    assert (form.initial["provider"], form.initial["model"]) == ("apikley", "V4_5")


def test_error_reports_of_the_key_form_hide_the_key(alice_client, cast):
    from django.views.debug import SafeExceptionReporterFilter

    request = set_key(alice_client, cast).wsgi_request
    posted = SafeExceptionReporterFilter().get_post_parameters(request)
    assert posted["apikley-api_key"] != SECRET and set(posted["apikley-api_key"]) == {"*"}


def test_the_sweep_forgets_retired_keys_once_no_job_can_need_them(alice_client, cast, settings):
    from datetime import timedelta

    from django.utils import timezone

    from covers import tasks

    set_key(alice_client, cast)
    alice_client.post(f"/workspaces/{cast.team.code}/keys/apikley/remove/")
    tasks.sweep()
    assert ProviderKey.objects.count() == 1  # a job submitted with it may still be running
    grace = timedelta(minutes=settings.JOB_DEADLINE_MINUTES + 61)
    ProviderKey.objects.update(retired_at=timezone.now() - grace)
    tasks.sweep()
    assert not ProviderKey.objects.exists()


def test_the_admin_lists_keys_without_the_key(client, cast):
    from accounts import services
    from accounts.models import User

    key = services.set_provider_key(cast.membership(cast.alice), "apikley", SECRET)
    client.force_login(User.objects.create_superuser("ops@example.org", "a long phrase here"))
    for url in ("/admin/accounts/providerkey/", f"/admin/accounts/providerkey/{key.pk}/change/"):
        html = client.get(url).content.decode()
        assert "WXYZ" in html, url
        assert SECRET not in html and key.encrypted_key not in html
        assert key.encrypted_key[:20] not in html
    assert client.get("/admin/accounts/notification/").status_code == 200
