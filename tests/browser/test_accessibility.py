"""axe-core finds no serious or critical violations on the main pages."""

import pytest

from tests.base import PASSWORD
from tests.browser.a11y import assert_accessible

PUBLIC_PAGES = ["/", "/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_public_pages(page, path, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto(path)
    assert_accessible(page)


def test_signed_in_pages(page, cast):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("alice@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/home/")
    for path in ["/home/", "/library/", "/clips/", "/workspaces/", f"/workspaces/{cast.team.code}/credits/"]:
        page.goto(path)
        assert_accessible(page)
