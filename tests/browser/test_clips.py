"""A creator uploads a clip, plays it, trims 10 s out of it and finds the new clip listed."""

import re

import pytest
from playwright.sync_api import expect

from covers.models import SourceClip
from lib.ffmpeg import run_ffmpeg
from tests.audio import make_tone
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import ARTIFACTS

PASSWORD = "a long and unusual pass phrase"


@pytest.fixture
def tones_dir(tmp_path):
    return tmp_path


def test_upload_play_and_trim(page, tmp_path):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("dana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/home/$"))

    page.get_by_role("link", name="Clips", exact=True).click()
    expect(page.get_by_text("Upload your first clip")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "clips_empty.png"), full_page=True)

    song = tmp_path / "Demo <i>song.wav"  # a swelling tone, so the waveform has a shape
    run_ffmpeg(["-f", "lavfi", "-i",
                "aevalsrc=sin(440*2*PI*t)*(0.2+0.8*abs(sin(0.6*t))):s=44100:d=20",
                "-ac", "2", "-c:a", "pcm_s16le", "-y", str(song)])
    page.get_by_label("Audio file").set_input_files(str(song))
    row = page.locator("#clip-rows tr").first
    expect(row).to_contain_text("Demo <i>song.wav")  # shown as text, not markup
    expect(row.locator(".clip-duration")).to_have_text("0:20")
    expect(page.locator(".upload-item.ok")).to_contain_text("Added.")
    expect(page.locator("#clip-empty")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "clips_uploaded.png"), full_page=True)
    assert_accessible(page)

    # The inline player loads the file through its signed link.
    player = row.locator("audio")
    player.evaluate("el => { el.preload = 'auto'; el.load(); }")
    page.wait_for_function(
        "el => el.readyState >= 1 && Math.abs(el.duration - 20) < 0.2", arg=player.element_handle()
    )
    played = player.evaluate("el => el.play().then(() => true, e => String(e))")
    assert played is True

    row.get_by_role("link", name="Trim").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trim")
    # Drawn from the peaks the server measured: no download, so no CORS needed on S3 either.
    expect(page.locator("#trim.has-waveform")).to_have_count(1)
    page.get_by_role("button", name="apiin.one: 6–60 s").click()
    expect(page.get_by_label("End (seconds)")).to_have_value("20.00")
    page.get_by_label("Start (seconds)").fill("5")
    page.get_by_label("End (seconds)").fill("15")
    expect(page.locator("#selection-length")).to_have_text("Selection: 10.0 s")
    page.screenshot(path=str(ARTIFACTS / "clips_trim.png"), full_page=True)
    page.get_by_role("button", name="Make the new clip").click()

    expect(page).to_have_url(re.compile(r"/clips/$"))
    new_row = page.locator("#clip-rows tr").first
    expect(new_row).to_contain_text("Demo <i>song.wav (0:05–0:15)")
    expect(new_row.locator(".clip-duration")).to_have_text("0:10")
    expect(page.locator("#clip-rows tr")).to_have_count(2)
    new = SourceClip.objects.get(parent__isnull=False)
    assert (new.trim_start, new.trim_end) == (5.0, 15.0)


def test_rename_and_delete_in_place(page, cast, tones_dir):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from covers import clips
    from covers.models import CoverJob, JobState
    from tests.base import PASSWORD as CAST_PASSWORD

    data = make_tone(tones_dir / "a.mp3", 4.0, "mp3").read_bytes()
    keep = clips.create_clip(cast.alice_personal, cast.alice, SimpleUploadedFile("Keep.mp3", data))
    busy = clips.create_clip(cast.alice_personal, cast.alice, SimpleUploadedFile("Busy.mp3", data))
    CoverJob.objects.create(workspace=cast.alice_personal, kind="upload_cover", provider="apikley",
                            source_clip=busy, state=JobState.SUBMITTED, idempotency_key="b")
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("alice@example.org")
    page.get_by_label("Password").fill(CAST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/home/")

    page.goto("/clips/")
    assert_accessible(page)
    # Dropping files: a picture named like a song is refused in place, a real song is added.
    from io import BytesIO

    from PIL import Image

    png = BytesIO()
    Image.new("RGB", (4, 4), "red").save(png, format="PNG")
    drop(page, png.getvalue(), "cover.mp3")
    expect(page.locator(".upload-item.error")).to_contain_text(
        "This file is not audio we can use. Upload MP3, WAV, M4A/AAC, FLAC or OGG/Opus."
    )
    expect(page.locator("#clip-rows tr")).to_have_count(2)
    drop(page, data, "Dropped.mp3")
    expect(page.locator("#clip-rows tr").first).to_contain_text("Dropped.mp3")
    expect(page.locator("#clip-rows tr")).to_have_count(3)

    page.locator(f"#clip-{busy.code}").get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_contain_text(f"Delete “{busy.display_name}” and its file?")
    confirm.get_by_role("button", name="Yes, go ahead").click()
    expect(page.locator("#clip-alerts")).to_contain_text("A cover is being made from this clip.")
    expect(page.locator(f"#clip-{busy.code}")).to_have_count(1)

    page.goto(f"/clips/{keep.code}/")
    assert_accessible(page)
    page.get_by_text("Rename").click()
    page.get_by_label("Name").fill("Final <take>")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Final <take>")
    page.screenshot(path=str(ARTIFACTS / "clip_detail.png"), full_page=True)

    page.goto(f"/clips/{keep.code}/trim/")
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    page.reload()
    expect(page.locator("#trim.has-waveform")).to_have_count(1)
    assert_accessible(page)
    page.screenshot(path=str(ARTIFACTS / "clip_trim_dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    page.goto("/clips/")
    page.locator(f"#clip-{keep.code}").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, go ahead").click()
    expect(page.locator(f"#clip-{keep.code}")).to_have_count(0)
    page.reload()
    expect(page.locator("#clip-rows tr")).to_have_count(2)


def drop(page, data, name):
    page.evaluate(
        """([bytes, name]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "audio/mpeg"}));
            const zone = document.getElementById("dropzone");
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true}));
            }
        }""",
        [list(data), name],
    )


from tests.covers.conftest import S3_BUCKET, moto_endpoint, s3  # noqa: E402,F401 - fixtures


@pytest.mark.s3
def test_direct_upload_to_the_bucket(page, s3, settings, tmp_path):  # noqa: F811
    """On S3 the browser posts the file straight to the bucket; the server then checks it."""
    settings.S3_DIRECT_UPLOAD = True
    s3.put_bucket_cors(Bucket=S3_BUCKET, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"]}
    ]})
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("erin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/home/$"))
    page.goto("/clips/")
    bucket_posts = []
    page.on("request", lambda r: bucket_posts.append(r.url) if r.method == "POST"
            and r.url.startswith(s3.meta.endpoint_url) else None)

    song = make_tone(tmp_path / "Straight to S3.ogg", 7.0, "ogg")
    page.get_by_label("Audio file").set_input_files(str(song))
    row = page.locator("#clip-rows tr").first
    expect(row).to_contain_text("Straight to S3.ogg")
    expect(row.locator(".clip-duration")).to_have_text("0:07")
    assert bucket_posts == [f"{s3.meta.endpoint_url}/{S3_BUCKET}"]
    clip = SourceClip.objects.get()
    head = s3.head_object(Bucket=S3_BUCKET, Key=clip.storage_key)
    assert head["ContentLength"] == song.stat().st_size and head["ContentType"] == "audio/ogg"

    player = row.locator("audio")
    player.evaluate("el => { el.preload = 'auto'; el.load(); }")
    page.wait_for_function("el => el.readyState >= 1 && Math.abs(el.duration - 7) < 0.2",
                           arg=player.element_handle())
