"""lib.audio: sniffing by content, probing real files, refusing bad ones, cutting."""

import pytest

from lib import audio
from tests.audio import make_tone


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("audio")


@pytest.mark.parametrize("fmt", ["mp3", "wav", "m4a", "flac", "ogg", "opus"])
def test_sniff_and_probe_real_files(folder, fmt):
    path = make_tone(folder / f"a.{fmt}", 2.0, fmt, channels=1, rate=32000)
    assert audio.sniff(path.read_bytes()[: audio.SNIFF_BYTES]) == fmt
    info = audio.probe(path)
    assert info.format == fmt
    assert info.duration == pytest.approx(2.0, abs=0.08)
    assert info.channels == 1
    assert info.sample_rate == (48000 if fmt == "opus" else 32000)
    # 20 peaks a second; lavfi's sine is an eighth of full scale.
    assert len(info.peaks) == pytest.approx(40, abs=2)
    assert max(info.peaks[2:-2]) == pytest.approx(0.125, abs=0.01)


@pytest.mark.parametrize(
    "head, fmt",
    [(b"\x89PNG\r\n\x1a\n" + b"\0" * 20, None), (b"%PDF-1.7", None), (b"GIF89a", None),
     (b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00", "mp3"), (b"\xff\xf1\x50\x80", "aac"),
     (b"\xff\xfb\x90\x00", "mp3"), (b"OggS" + b"\0" * 24 + b"OpusHead", "opus"),
     (b"OggS" + b"\0" * 24 + b"\x80theora", None), (b"\0\0\0\x20ftypM4A \0\0\0\0", "m4a"),
     (b"\0\0\0\x20ftypqt  \0\0\0\0", None), (b"", None)],
)
def test_sniff_looks_at_bytes_only(head, fmt):
    assert audio.sniff(head) == fmt


def test_probe_refuses_text_named_like_audio(folder):
    path = folder / "notes.mp3"
    path.write_text("la la la\n" * 100)
    with pytest.raises(audio.AudioRefused) as refused:
        audio.probe(path)
    assert refused.value.code == "not_audio"


def test_probe_refuses_a_truncated_flac(folder):
    full = make_tone(folder / "b.flac", 4.0, "flac").read_bytes()
    path = folder / "cut.flac"
    path.write_bytes(full[: len(full) // 3])
    with pytest.raises(audio.AudioRefused) as refused:
        audio.probe(path)
    assert refused.value.code == "truncated"
    assert "should last 0:04" in refused.value.message


def test_probe_refuses_too_long(folder):
    path = make_tone(folder / "c.wav", 5.0, "wav", channels=1, rate=8000)
    with pytest.raises(audio.AudioRefused) as refused:
        audio.probe(path, max_seconds=4)
    assert refused.value.code == "too_long"
    assert audio.probe(path, max_seconds=6).duration == pytest.approx(5.0, abs=0.05)


@pytest.mark.parametrize("fmt", ["mp3", "wav", "m4a", "flac", "ogg", "opus"])
def test_trim_cuts_the_asked_window(folder, fmt):
    src = make_tone(folder / f"long.{fmt}", 6.0, fmt)
    out = audio.trim(src, folder / f"cut-{fmt}.{fmt}", 1.5, 4.0, fmt)
    info = audio.probe(out)
    assert info.format == fmt
    assert info.duration == pytest.approx(2.5, abs=0.08)


def test_trim_rejects_an_empty_window(folder):
    with pytest.raises(ValueError):
        audio.trim(folder / "x.wav", folder / "y.wav", 3, 3, "wav")


@pytest.mark.parametrize("seconds, label", [(0, "0:00"), (2.6, "0:03"), (59.4, "0:59"),
                                            (480, "8:00"), (490.2, "8:10")])
def test_format_duration(seconds, label):
    assert audio.format_duration(seconds) == label


def test_long_files_get_a_bounded_number_of_peaks(folder):
    path = make_tone(folder / "long-peaks.wav", 100.0, "wav", channels=1, rate=8000)
    peaks = audio.probe(path).peaks
    assert len(peaks) == audio.MAX_PEAKS
    assert all(0 <= p <= 1 for p in peaks)


def test_ffmpeg_answers_when_mutagen_cannot(folder, monkeypatch):
    path = make_tone(folder / "fallback.mp3", 2.0, "mp3", channels=1, rate=22050)
    monkeypatch.setattr(audio, "_mutagen_info", lambda path: None)
    info = audio.probe(path)
    assert (info.format, info.sample_rate, info.channels) == ("mp3", 22050, 1)
    assert info.duration == pytest.approx(2.0, abs=0.08)


def test_raw_adts_aac(folder):
    from lib.ffmpeg import run_ffmpeg

    path = folder / "raw.aac"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=2:sample_rate=44100", "-c:a", "aac",
                "-f", "adts", "-y", str(path)])
    info = audio.probe(path)
    assert info.format == "aac" and info.content_type == "audio/aac"
    assert info.duration == pytest.approx(2.0, abs=0.1)
