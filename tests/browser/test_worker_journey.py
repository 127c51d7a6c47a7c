"""The product as `make run` starts it: bin/run (web server + django-q2 worker) in
subprocesses on a fresh database, driven through a real browser. Nothing here runs in-process
or in sync mode: jobs go through the queue, the worker, the sandbox's HTTP callbacks and the
result copies exactly as they do for a person trying the product."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from covers.providers import catalog
from tests.audio import make_tone
from tests.browser.conftest import ARTIFACTS, call_failed, collect_console, save_page

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long and unusual pass phrase"
JOB_TIMEOUT = 120_000  # ms: the worker renders real audio with ffmpeg


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_of(base):
    """Pids of every process started for this product (web server, worker and their
    children, whatever their process group), found by the PUBLIC_BASE_URL in their
    environment."""
    marker = f"\0PUBLIC_BASE_URL={base}\0".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in b"\0" + (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.fixture
def running_product(tmp_path, request):
    """bin/run on a temporary SQLite database; yields (base URL, env). Stops it with SIGINT
    to its process group, as Ctrl-C in a terminal would, and checks that every process it
    started ends."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("SANDBOX_", "Q_", "PYTEST", "DJANGO_ALLOW"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        PORT=str(port),
        PUBLIC_BASE_URL=base,
        DEBUG="1",
        PYTHONUNBUFFERED="1",
    )
    python = str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists():
        python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen(
        ["bash", "bin/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/accounts/signup/").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        else:
            pytest.fail("make run's server did not answer within a minute")
        assert proc.poll() is None, (tmp_path / "run.log").read_text()
        yield base, env, python
    finally:
        if call_failed(request):
            log.flush()
            ARTIFACTS.mkdir(exist_ok=True)
            run_log = (tmp_path / "run.log").read_text(errors="replace")
            (ARTIFACTS / "worker-journey-run.log").write_text(run_log)
            print("bin/run's output, last lines:\n" + run_log[-4000:])
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            # The worker may finish the task in hand (bin/run allows it STOP_GRACE, 30 s).
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            for pid in _processes_of(base):
                os.kill(pid, signal.SIGKILL)
            log.flush()
            pytest.fail(
                "Ctrl-C did not stop the web server and the worker:\n"
                + (tmp_path / "run.log").read_text()[-3000:]
            )
        finally:
            log.close()
        for _ in range(20):  # the web server's reloader child may take a moment
            leftover = _processes_of(base)
            if not leftover:
                break
            time.sleep(0.25)
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        assert not leftover, f"processes left running after Ctrl-C: {leftover}"


def _wait_for_job(page, *, done_text):
    status = page.locator("#job-status")
    expect(status).to_have_attribute("data-state", "succeeded", timeout=JOB_TIMEOUT)
    expect(status).to_contain_text(done_text, timeout=JOB_TIMEOUT)


def _post_and_follow(page, button):
    """Click a button that posts its form, and wait for the page the answer leads to.

    The button sits in the job page's status partial, which htmx swaps while the job moves:
    a click that lands mid-swap reaches no button and the browser sends nothing. Only that
    case is clicked again. A form that was sent fails the test unless it is answered (within
    a minute) with a redirect, which is then followed."""
    sent, answers, failures = [], [], []

    def on_request(request):
        if request.method == "POST":
            sent.append(request)

    def on_response(response):
        if response.request.method == "POST":
            answers.append(response)

    def on_failed(request):
        if request.method == "POST":
            failures.append(request)

    def wait_until(done, seconds):
        for _ in range(seconds * 10):
            if done():
                return
            page.wait_for_timeout(100)

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    try:
        for _ in range(2):
            button.click()
            wait_until(lambda: sent, 5)
            if sent:
                break
        assert sent, "two clicks on the button sent no request"
        wait_until(lambda: answers or failures, 60)
        assert not failures, f"{failures[0].url} failed: {failures[0].failure}"
        assert answers, f"the request to {sent[0].url} got no answer within a minute"
        response = answers[0]
        location = response.headers.get("location", "")
        assert response.status == 302 and location, (
            f"{response.url} answered {response.status}: {response.text()[:2000]}"
        )
        page.wait_for_url("**" + location)
        page.wait_for_load_state()
    finally:
        page.remove_listener("request", on_request)
        page.remove_listener("response", on_response)
        page.remove_listener("requestfailed", on_failed)


def _fill_cover_form(page, style):
    page.get_by_label("Lyrics or idea").fill(style)
    page.get_by_role("button", name=re.compile("Make the cover", re.I)).click()


def test_upload_cover_art_and_track_cover_through_the_worker(browser, running_product, tmp_path):
    base, env, python = running_product
    clip = make_tone(tmp_path / "my song.mp3", 12.0)
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    console = collect_console(page)
    try:
        page.goto("/accounts/signup/")
        page.get_by_label("Email").fill("erin@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()
        starting = int(page.locator("#credit-balance").inner_text())

        page.goto("/clips/")
        page.locator("input[type=file]").first.set_input_files(str(clip))
        page.get_by_role("link", name="my song.mp3").click()
        page.goto(page.url.rstrip("/") + "/cover/")
        _fill_cover_form(page, "lofi chill piano")

        # The job page follows the job live (no reloads) until the tracks are ours.
        cover_price = catalog.price("apikley", "upload_cover", "V5")
        _wait_for_job(page, done_text=f"Cost: {cover_price} credits")
        audio = page.locator("#job-status audio")
        expect(audio).to_have_count(2)
        for src in audio.evaluate_all("els => els.map(e => e.src)"):
            response = page.request.get(src)
            assert response.ok and response.headers["content-type"].startswith("audio/")
            assert len(response.body()) > 10_000
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "worker-journey-cover.png"), full_page=True)
        music_job = page.url

        # Cover art for the finished job: two images, kept in our storage.
        _post_and_follow(page, page.get_by_role("button", name=re.compile("Make cover art")))
        assert page.url != music_job, page.locator(".messages").all_inner_texts()
        art_price = catalog.price("apikley", "cover_art")
        _wait_for_job(page, done_text=f"Cost: {art_price} credits")
        expect(page.get_by_role("link", name=re.compile(r"Download image \d"))).to_have_count(2)

        # A cover of one of the results (chaining).
        page.goto(music_job)
        page.get_by_role("link", name="Cover this track").first.click()
        _fill_cover_form(page, "orchestral, cinematic")
        track_price = catalog.price("apikley", "track_cover", "V5")
        _wait_for_job(page, done_text=f"Cost: {track_price} credits")
        expect(page.get_by_text("A cover of the track")).to_be_visible()

        expected = starting - cover_price - art_price - track_price
        expect(page.locator("#credit-balance")).to_have_text(str(expected))
    except Exception:
        save_page(page, "worker-journey-failed", console)
        raise
    finally:
        context.close()

    audit = subprocess.run(
        [python, "manage.py", "audit_credits"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
