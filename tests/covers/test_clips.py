"""Clip services: what is accepted, what is refused, and that a refusal keeps nothing."""

import hashlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditLog
from covers import clips
from covers.models import CoverJob, JobState, SourceClip
from tests.covers.conftest import stored_names


def upload(path, name=None):
    return SimpleUploadedFile(name or path.name, path.read_bytes())


@pytest.mark.parametrize(
    "fmt, content_type, rate",
    [("mp3", "audio/mpeg", 44100), ("wav", "audio/wav", 44100), ("m4a", "audio/mp4", 44100),
     ("flac", "audio/flac", 44100), ("ogg", "audio/ogg", 44100), ("opus", "audio/ogg", 48000)],
)
def test_each_accepted_format_becomes_a_clip(cast, tones, fmt, content_type, rate):
    data = tones[fmt].read_bytes()
    clip = clips.create_clip(cast.team, cast.alice, upload(tones[fmt], f"My take.{fmt}"))
    assert clip.format == fmt
    assert clip.content_type == content_type
    assert clip.duration == pytest.approx(3.0, abs=0.1)
    assert clip.sample_rate == rate
    assert clip.channels == 2
    assert clip.size == len(data)
    assert clip.sha256 == hashlib.sha256(data).hexdigest()
    assert clip.original_name == clip.display_name == f"My take.{fmt}"
    assert clip.uploaded_by == cast.alice
    # Stored under a random key in the workspace's folder, never the user's filename.
    assert clip.storage_key.startswith(f"workspaces/{cast.team.code}/clips/")
    assert "take" not in clip.storage_key.lower()
    with default_storage.open(clip.storage_key, "rb") as handle:
        assert handle.read() == data
    log = AuditLog.objects.get(action="clip.upload")
    assert log.workspace == cast.team and log.target == str(clip.code)


def test_the_extension_does_not_decide_the_format(cast, tones):
    clip = clips.create_clip(cast.team, cast.alice, upload(tones["wav"], "song.mp3"))
    assert clip.format == "wav"
    assert clip.storage_key.endswith(".wav")


def test_a_file_bigger_than_django_keeps_in_memory_is_streamed_from_its_temp_file(
    cast, tones, client, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # every upload goes to a temporary file
    client.force_login(cast.alice)
    from tests.base import use_workspace

    use_workspace(client, cast.team)
    with open(tones["long_wav"], "rb") as handle:
        response = client.post("/clips/upload/", {"file": handle})
    assert response.status_code == 302
    clip = SourceClip.objects.get()
    assert clip.duration == pytest.approx(20.0, abs=0.1)
    assert clip.channels == 1 and clip.sample_rate == 22050
    assert clip.sha256 == hashlib.sha256(tones["long_wav"].read_bytes()).hexdigest()


REFUSALS = [
    ("png_as_mp3", "This file is not audio we can use. Upload MP3, WAV, M4A/AAC, FLAC or OGG/Opus."),
    ("truncated_mp3", "This file is incomplete: it should last 0:03 but only 0:01 can be played."),
    ("empty", "This file is empty (0 bytes)."),
    ("too_long", "This clip lasts 8:10; no provider accepts more than 8:00."),
]


@pytest.mark.parametrize("which, message", REFUSALS)
def test_refused_upload_keeps_nothing(cast, tones, which, message):
    before = stored_names()
    with pytest.raises(clips.ClipRefused) as refused:
        clips.create_clip(cast.team, cast.alice, upload(tones[which]))
    assert refused.value.message.startswith(message)
    assert stored_names() == before
    assert not SourceClip.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="clip.").exists()


def test_damaged_header_is_refused(cast, tones):
    data = bytearray(tones["mp3"].read_bytes())
    data[:4] = b"RIFF"  # looks like WAV to a sniffer, but is not a readable one
    data[8:12] = b"WAVE"
    before = stored_names()
    with pytest.raises(clips.ClipRefused) as refused:
        clips.create_clip(cast.team, cast.alice, SimpleUploadedFile("x.wav", bytes(data)))
    assert refused.value.message == (
        "We could not read this audio: the file looks damaged or incomplete."
    )
    assert stored_names() == before and not SourceClip.objects.exists()


def test_zero_length_audio_is_refused(cast, tmp_path):
    import wave

    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(44100)
        out.writeframes(b"")
    before = stored_names()
    with pytest.raises(clips.ClipRefused) as refused:
        clips.create_clip(cast.team, cast.alice, upload(path))
    assert refused.value.message.startswith("This audio has no length (0 seconds)")
    assert stored_names() == before and not SourceClip.objects.exists()


def test_oversize_file_is_refused(cast, tones, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    before = stored_names()
    with pytest.raises(clips.ClipRefused) as refused:
        clips.create_clip(cast.team, cast.alice, upload(tones["mp3"]))
    assert refused.value.message.startswith("This file is too large")
    assert "The limit is 1000 bytes." in refused.value.message
    assert stored_names() == before and not SourceClip.objects.exists()


def test_database_failure_removes_the_stored_file(cast, tones, monkeypatch):
    before = stored_names()

    def broken_audit(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(clips, "audit", broken_audit)
    with pytest.raises(RuntimeError):
        clips.create_clip(cast.team, cast.alice, upload(tones["mp3"]))
    assert stored_names() == before
    assert not SourceClip.objects.exists()


@pytest.mark.parametrize(
    "raw, shown",
    [("../../etc/passwd.mp3", "passwd.mp3"), ("C:\\Users\\me\\song.mp3", "song.mp3"),
     ("bad\x00name\x1b[31m.mp3", "bad name [31m.mp3"), ("<img src=x onerror=alert(1)>.mp3",
      "<img src=x onerror=alert(1)>.mp3"), ("<b>x</b>.mp3", "b>.mp3"), ("\u202eevil.mp3", "evil.mp3"), ("", "Untitled clip")],
)
def test_filenames_are_cleaned_for_display(raw, shown):
    assert clips.clean_name(raw) == shown


def test_rename(cast, tones):
    clip = clips.create_clip(cast.team, cast.alice, upload(tones["mp3"]))
    clips.rename_clip(clip, cast.bob, "  Chorus\ttake  ")
    clip.refresh_from_db()
    assert clip.display_name == "Chorus take"
    assert clip.original_name == "tone.mp3"
    log = AuditLog.objects.get(action="clip.rename")
    assert log.data == {"old": "tone.mp3", "new": "Chorus take"}
    with pytest.raises(clips.ClipRefused, match="Give the clip a name"):
        clips.rename_clip(clip, cast.bob, " \x00 ")


def make_job(clip, state):
    return CoverJob.objects.create(
        workspace=clip.workspace, kind="upload_cover", provider="apikley", source_clip=clip,
        state=state, idempotency_key=f"k-{state}-{clip.pk}",
    )


def test_delete_removes_row_and_file(cast, tones, django_capture_on_commit_callbacks):
    clip = clips.create_clip(cast.team, cast.alice, upload(tones["mp3"]))
    with django_capture_on_commit_callbacks(execute=True):
        clips.delete_clip(clip, cast.alice)
    assert not SourceClip.objects.exists()
    assert not default_storage.exists(clip.storage_key)
    assert AuditLog.objects.filter(action="clip.delete", target=str(clip.code)).exists()


def test_delete_is_refused_while_a_job_uses_the_clip(cast, tones, django_capture_on_commit_callbacks):
    clip = clips.create_clip(cast.team, cast.alice, upload(tones["mp3"]))
    make_job(clip, JobState.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(clips.ClipRefused) as refused:
            clips.delete_clip(clip, cast.alice)
    assert "A cover is being made from this clip" in refused.value.message
    assert SourceClip.objects.filter(pk=clip.pk, deleted_at=None).exists()
    assert default_storage.exists(clip.storage_key)


def test_delete_after_jobs_finished_keeps_the_row_for_their_history(
    cast, tones, django_capture_on_commit_callbacks
):
    clip = clips.create_clip(cast.team, cast.alice, upload(tones["mp3"]))
    job = make_job(clip, JobState.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        clips.delete_clip(clip, cast.alice)
    clip.refresh_from_db()
    assert clip.deleted_at is not None
    assert not default_storage.exists(clip.storage_key)
    assert not clips.live_clips().exists()
    job.refresh_from_db()
    assert job.source_clip_id == clip.pk


def test_trim_makes_a_new_clip_and_keeps_the_original(cast, tones):
    clip = clips.create_clip(cast.team, cast.alice, upload(tones["long_wav"], "Long.wav"))
    new = clips.trim_clip(clip, cast.bob, 5, 15)
    assert new.parent == clip
    assert (new.trim_start, new.trim_end) == (5.0, 15.0)
    assert new.duration == pytest.approx(10.0, abs=0.05)
    assert new.format == "wav" and new.workspace == cast.team and new.uploaded_by == cast.bob
    assert new.display_name == "Long.wav (0:05–0:15)"
    assert new.storage_key != clip.storage_key
    assert default_storage.exists(clip.storage_key) and default_storage.exists(new.storage_key)
    assert AuditLog.objects.filter(action="clip.trim", target=str(new.code)).exists()


@pytest.mark.parametrize(
    "start, end, message",
    [(5, 5, "The end must come after the start."), (30, 40, "The start is past the end"),
     (3, 3.5, "Select at least one second.")],
)
def test_trim_refuses_bad_ranges(cast, tones, start, end, message):
    clip = clips.create_clip(cast.team, cast.alice, upload(tones["long_wav"]))
    before = stored_names()
    with pytest.raises(clips.ClipRefused) as refused:
        clips.trim_clip(clip, cast.alice, start, end)
    assert refused.value.message.startswith(message)
    assert stored_names() == before
    assert SourceClip.objects.count() == 1


@pytest.mark.parametrize(
    "key, start, duration, window",
    [("apiinone", 0, 300, (0, 60)), ("apiinone", 0, 4, (0, 4)), ("apiinone", 17, 20, (14, 20)),
     ("apikley_v45all", 10, 300, (10, 70)), ("any", 0, 600, (0, 480)), ("nope", 0, 10, None)],
)
def test_preset_windows(key, start, duration, window):
    assert clips.preset_window(key, start, duration) == window
