"""Browser tests: Playwright for Python driving Debian's Chromium against live_server.

Each test saves a screenshot under test-artifacts/; a failing test also saves the page's
HTML and its console log there.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason="Chromium not installed (apt-get install chromium)")
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash.setdefault(_REPORTS, {})["call"] = report
    return report


_REPORTS = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


def collect_console(page):
    """The page's console messages and uncaught errors, gathered as they come."""
    console = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    return console


def call_failed(request):
    """Whether the test itself (not its set-up or teardown) failed; for fixtures' teardown."""
    report = request.node.stash.get(_REPORTS, {}).get("call")
    return report is not None and report.failed


def save_page(page, name, console=None):
    """A full-page screenshot under test-artifacts/; with `console`, also the page's HTML
    and console log, as kept for a failing test."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if console is not None:
        (ARTIFACTS / f"{name}.html").write_text(page.content())
        (ARTIFACTS / f"{name}.console.log").write_text("\n".join(console))


@pytest.fixture
def page(browser, request, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    console = collect_console(page)
    yield page
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    try:
        save_page(page, name, console if call_failed(request) else None)
    finally:
        context.close()
