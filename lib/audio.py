"""Audio files: what a file really is (magic bytes), what it holds (mutagen, then ffmpeg), and
cutting a piece out of it (ffmpeg). Plain helpers that know nothing of Django.

A creator sees the messages of `AudioRefused`, so they say what is wrong in their words.
"""

import re
import subprocess
import tempfile
import threading
from array import array
from dataclasses import dataclass

from lib.ffmpeg import FFmpegError, ffmpeg_path, run_ffmpeg

# Format name -> (label, content type, file suffix).
FORMATS = {
    "mp3": ("MP3", "audio/mpeg", ".mp3"),
    "wav": ("WAV", "audio/wav", ".wav"),
    "m4a": ("M4A", "audio/mp4", ".m4a"),
    "aac": ("AAC", "audio/aac", ".aac"),
    "flac": ("FLAC", "audio/flac", ".flac"),
    "ogg": ("OGG", "audio/ogg", ".ogg"),
    "opus": ("Opus", "audio/ogg", ".opus"),
}
ACCEPTED_LABEL = "MP3, WAV, M4A/AAC, FLAC or OGG/Opus"
SNIFF_BYTES = 4096

# How a cut piece is encoded, per format: close to the source's quality, widely playable.
ENCODERS = {
    "mp3": ["-c:a", "libmp3lame", "-q:a", "2"],
    "wav": ["-c:a", "pcm_s16le"],
    "m4a": ["-c:a", "aac", "-b:a", "192k"],
    "aac": ["-c:a", "aac", "-b:a", "192k"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "5"],
    "opus": ["-c:a", "libopus", "-b:a", "128k"],
}
MUXERS = {"m4a": "ipod", "aac": "adts", "opus": "ogg"}


class AudioRefused(Exception):
    """The file is not audio we can accept; str(exc) is shown to the creator."""

    def __init__(self, message, code="invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class AudioInfo:
    format: str
    duration: float
    sample_rate: int | None
    channels: int | None
    peaks: tuple = ()

    @property
    def content_type(self):
        return FORMATS[self.format][1]

    @property
    def suffix(self):
        return FORMATS[self.format][2]

    @property
    def label(self):
        return FORMATS[self.format][0]


def _skip_id3(head):
    """Bytes after a leading ID3v2 tag (MP3s, and sometimes FLAC/AAC, start with one)."""
    if len(head) >= 10 and head[:3] == b"ID3":
        size = 0
        for byte in head[6:10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if head[5] & 0x10 else 0
        return head[10 + size + footer :], True
    return head, False


def sniff(head):
    """The audio format the first bytes of a file announce, or None when they are not audio.
    The filename plays no part: a PNG called song.mp3 is still a PNG."""
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        if b"OpusHead" in head[:512]:
            return "opus"
        if b"\x01vorbis" in head[:512] or b"\x7fFLAC" in head[:512]:
            return "ogg"
        return None
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"iso2", b"dash", b"3gp4"):
            return "m4a"
        return None
    body, had_id3 = _skip_id3(head)
    if body[:4] == b"fLaC":
        return "flac"
    if len(body) >= 2 and body[0] == 0xFF and body[1] & 0xE0 == 0xE0:
        layer = (body[1] >> 1) & 0x03
        if layer == 0 and body[1] & 0xF6 == 0xF0:
            return "aac"  # ADTS: MPEG sync with layer bits 00
        if layer != 0:
            return "mp3"
    if had_id3 and not body:
        return "mp3"  # the tag fills the whole sniffed head; frames follow
    return None


def _mutagen_info(path):
    import mutagen

    try:
        found = mutagen.File(path)
    except Exception:  # mutagen raises many kinds on damaged files; ffmpeg gets a say next
        return None
    if found is None or found.info is None:
        return None
    info = found.info
    return (
        float(getattr(info, "length", 0) or 0),
        getattr(info, "sample_rate", None) or None,
        getattr(info, "channels", None) or None,
    )


STREAM_RE = re.compile(r"Audio: [^,]+, (\d+) Hz, ([^,]+)")
CHANNEL_NAMES = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


PEAK_RATE = 8000  # decoded to 8 kHz mono for counting and drawing; plenty for a waveform
SAMPLES_PER_PEAK = 400  # 20 peaks a second before thinning
MAX_PEAKS = 1600


def _decode(path, *, timeout=180):
    """Decode the whole file with ffmpeg, streaming the samples through this process in
    small chunks: returns (seconds decoded, sample rate, channels, peaks). The peaks (0..1,
    at most MAX_PEAKS) let the trim page draw the waveform without the browser downloading
    and decoding the file. Raises AudioRefused when ffmpeg cannot read it."""
    cmd = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
        "-ac", "1", "-ar", str(PEAK_RATE), "-c:a", "pcm_s16le", "-f", "s16le", "-",
    ]
    peaks, pending, samples = [], bytearray(), 0
    block = SAMPLES_PER_PEAK * 2
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for chunk in iter(lambda: proc.stdout.read(64 * 1024), b""):
                pending += chunk
                usable = len(pending) - len(pending) % block
                for offset in range(0, usable, block):
                    values = array("h", pending[offset : offset + block])
                    peaks.append(max(max(values), -min(values)))
                samples += usable // 2
                del pending[:usable]
            proc.stdout.close()
            returncode = proc.wait()
        finally:
            timer.cancel()
        if len(pending) >= 2:
            values = array("h", pending[: len(pending) - len(pending) % 2])
            peaks.append(max(max(values), -min(values)))
            samples += len(values)
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    if returncode != 0:
        if returncode < 0:
            raise AudioRefused("This file took too long to read. Is it really audio?", "unreadable")
        raise AudioRefused(
            "We could not read this audio: the file looks damaged or incomplete.", "corrupt"
        )
    rate = channels = None
    match = STREAM_RE.search(stderr)
    if match:
        rate = int(match[1])
        layout = match[2].strip().split("(")[0].strip()
        channels = CHANNEL_NAMES.get(layout)
        if channels is None and layout.endswith(" channels"):
            channels = int(layout.split()[0])
    return samples / PEAK_RATE, rate, channels, _thin(peaks)


def _thin(peaks):
    """At most MAX_PEAKS values, each the loudest of the ones it replaces, scaled to 0..1."""
    if len(peaks) > MAX_PEAKS:
        step = len(peaks) / MAX_PEAKS
        peaks = [max(peaks[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
                 for i in range(MAX_PEAKS)]
    return tuple(round(p / 32768, 3) for p in peaks)


def probe(path, *, size=None, max_seconds=None, head=None):
    """What the audio file at `path` holds. Raises AudioRefused (with a creator-facing message)
    when it is empty, not audio, damaged, silent-length zero or longer than `max_seconds`."""
    if size is None:
        import os

        size = os.path.getsize(path)
    if size == 0:
        raise AudioRefused("This file is empty (0 bytes).", "empty")
    if head is None:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    fmt = sniff(head)
    if fmt is None:
        raise AudioRefused(
            f"This file is not audio we can use. Upload {ACCEPTED_LABEL}.", "not_audio"
        )
    declared, rate, channels = _mutagen_info(path) or (0.0, None, None)
    if max_seconds and declared > max_seconds:
        raise _too_long(declared, max_seconds)
    decoded, ff_rate, ff_channels, peaks = _decode(path)
    if max_seconds and decoded > max_seconds + 0.5:
        raise _too_long(decoded, max_seconds)
    if decoded <= 0.05:
        raise AudioRefused(
            "This audio has no length (0 seconds): there is nothing to play.", "zero_length"
        )
    if declared and decoded < declared - max(0.5, declared * 0.05):
        # The header promises more than the file holds: cut short while uploading or copying.
        raise AudioRefused(
            f"This file is incomplete: it should last {format_duration(declared)} but only "
            f"{format_duration(decoded)} can be played. Try exporting it again.",
            "truncated",
        )
    if fmt == "opus":
        rate = 48000  # Opus always decodes at 48 kHz; mutagen reports no rate for it
    return AudioInfo(
        format=fmt,
        duration=round(decoded if decoded else declared, 3),
        sample_rate=rate or ff_rate,
        channels=channels or ff_channels,
        peaks=peaks,
    )


def _too_long(seconds, max_seconds):
    return AudioRefused(
        f"This clip lasts {format_duration(seconds)}; no provider accepts more than "
        f"{format_duration(max_seconds)}. Trim it first, then upload the part you want.",
        "too_long",
    )


def format_duration(seconds):
    """m:ss, rounded to the nearest second (0:03, 8:05)."""
    minutes, secs = divmod(int(round(float(seconds or 0))), 60)
    return f"{minutes}:{secs:02d}"


def trim(src, dst, start, end, fmt):
    """Cut [start, end) seconds of `src` into `dst`, re-encoded as `fmt`. Sample-accurate:
    ffmpeg seeks after decoding (-ss after -i), which is slower but exact."""
    if start < 0 or end <= start:
        raise ValueError("end must be after start, and start not negative")
    args = [
        "-i", str(src), "-ss", f"{start:.3f}", "-t", f"{end - start:.3f}",
        "-map", "0:a:0", "-map_metadata", "-1", *ENCODERS[fmt],
        "-f", MUXERS.get(fmt, fmt), "-y", str(dst),
    ]
    try:
        run_ffmpeg(args, timeout=300)
    except FFmpegError as exc:
        raise AudioRefused(f"We could not cut this clip: {exc}", "trim_failed") from exc
    return dst
