"""Real small audio files, made by ffmpeg for the tests."""

from lib.ffmpeg import run_ffmpeg

CODECS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "wav": ["-c:a", "pcm_s16le"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus", "-b:a", "48k"],
}


def make_tone(path, seconds=3.0, fmt=None, *, frequency=440, rate=44100, channels=2):
    """Write a sine tone of `seconds` to `path` in `fmt` (default: the file's extension)."""
    fmt = fmt or str(path).rsplit(".", 1)[-1]
    muxer = {"m4a": "ipod", "opus": "ogg"}.get(fmt, fmt)
    run_ffmpeg(
        [
            "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate={rate}:duration={seconds}",
            "-ac", str(channels), *CODECS[fmt], "-f", muxer, "-y", str(path),
        ]
    )
    return path


def tone_bytes(seconds=3.0, fmt="mp3", tmp_path=None, **kwargs):
    import tempfile
    from pathlib import Path

    folder = Path(tmp_path or tempfile.mkdtemp())
    path = folder / f"tone-{seconds}-{kwargs.get('frequency', 440)}.{fmt}"
    make_tone(path, seconds, fmt, **kwargs)
    return path.read_bytes()
