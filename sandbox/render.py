"""The sandbox's real (simple) work: two style variants of an audio with ffmpeg, cover-art
PNGs with Pillow. Knows nothing of providers."""

import colorsys
import hashlib
import io
import tempfile
from pathlib import Path

from lib.ffmpeg import run_ffmpeg

# First keyword found in the style picks the chain; every output is resampled to 44.1 kHz.
STYLE_FILTERS = [
    (("lofi", "lo-fi", "chill"), "lowpass=f=3200,acrusher=bits=8:mode=log:aa=1:mix=0.4"),
    (("rock", "metal", "punk", "grunge"), "bass=g=5,treble=g=4,asoftclip=type=tanh,volume=-3dB"),
    (("jazz", "acoustic", "folk"), "highpass=f=120,aecho=0.8:0.6:50:0.25"),
    (("orchestral", "cinematic", "ambient"), "aecho=0.8:0.8:120|240:0.4|0.25,lowpass=f=9000"),
    (("electronic", "edm", "techno", "synth"), "highpass=f=60,flanger"),
]
DEFAULT_FILTER = "aecho=0.8:0.7:60:0.3"
# Two takes: a little slower; a semitone up at the same tempo.
VARIANTS = ["atempo=0.96", "asetrate=46722,aresample=44100,atempo=0.944"]
MAX_SECONDS = 90


def style_filter(style):
    style = (style or "").lower()
    for keywords, chain in STYLE_FILTERS:
        if any(word in style for word in keywords):
            return chain
    return DEFAULT_FILTER


def render_variants(source: bytes, style: str, *, max_seconds=MAX_SECONDS):
    """Two MP3 renderings of `source` (any audio ffmpeg reads) in `style`."""
    chain = style_filter(style)
    outputs = []
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "source"
        src.write_bytes(source)
        for n, variant in enumerate(VARIANTS, start=1):
            out = Path(folder) / f"take-{n}.mp3"
            run_ffmpeg([
                "-i", str(src), "-t", str(max_seconds), "-vn",
                "-af", f"aresample=44100,{chain},{variant}",
                "-ac", "2", "-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3", "-y", str(out),
            ])
            outputs.append(out.read_bytes())
    return outputs


def melody(seconds=20):
    """A short synthetic tune (MP3), for sources the sandbox has no audio for."""
    expr = "0.3*sin(2*PI*(220+55*floor(mod(t*2\\,6)))*t)+0.1*sin(2*PI*110*t)"
    return run_ffmpeg([
        "-f", "lavfi", "-i", f"aevalsrc={expr}:s=44100:d={seconds}",
        "-ac", "2", "-c:a", "libmp3lame", "-b:a", "96k", "-f", "mp3", "pipe:1",
    ])


def duration(mp3: bytes):
    from mutagen.mp3 import MP3

    return round(MP3(io.BytesIO(mp3)).info.length, 2)


def cover_art(title: str, style: str, variant: int, size=512):
    """A PNG: a two-colour gradient picked from the style, the title written on it."""
    from PIL import Image, ImageDraw, ImageFont

    seed = hashlib.sha256(f"{style}|{variant}".encode()).digest()
    top = _colour(seed[0] / 255, 0.55, 0.45)
    bottom = _colour(seed[1] / 255, 0.65, 0.25)
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        mix = y / (size - 1)
        draw.line([(0, y), (size, y)],
                  fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)))
    font = ImageFont.load_default(size=size // 12)
    small = ImageFont.load_default(size=size // 24)
    draw.text((size // 16, size - size // 4), (title or "Untitled")[:28], fill="white", font=font)
    draw.text((size // 16, size - size // 9), (style or "")[:48], fill="#eeeeee", font=small)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _colour(hue, saturation, lightness):
    return tuple(int(c * 255) for c in colorsys.hls_to_rgb(hue, lightness, saturation))
