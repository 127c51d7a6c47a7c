import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.files.storage import default_storage

from lib.ffmpeg import run_ffmpeg
from tests.audio import make_tone

BASE = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tones(tmp_path_factory):
    """Real audio, one small file per accepted format, plus crafted bad files."""
    folder = tmp_path_factory.mktemp("tones")
    made = {fmt: make_tone(folder / f"tone.{fmt}", 3.0, fmt) for fmt in
            ("mp3", "wav", "m4a", "flac", "ogg", "opus")}
    made["long_wav"] = make_tone(folder / "long.wav", 20.0, "wav", channels=1, rate=22050)
    mp3 = made["mp3"].read_bytes()
    made["truncated_mp3"] = folder / "truncated.mp3"
    made["truncated_mp3"].write_bytes(mp3[: len(mp3) // 2])
    made["png_as_mp3"] = folder / "cover.mp3"
    from PIL import Image

    Image.new("RGB", (8, 8), "purple").save(made["png_as_mp3"], format="PNG")
    made["empty"] = folder / "empty.mp3"
    made["empty"].write_bytes(b"")
    too_long = folder / "too-long.mp3"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=220:sample_rate=8000:duration=490",
                "-ac", "1", "-c:a", "libmp3lame", "-b:a", "8k", "-f", "mp3", "-y", str(too_long)])
    made["too_long"] = too_long
    return made


def stored_names(storage=None):
    """Every file name in storage (local folder or bucket), to prove nothing was left."""
    storage = storage or default_storage
    found = set()

    def walk(prefix):
        try:
            dirs, names = storage.listdir(prefix)
        except FileNotFoundError:
            return
        for name in names:
            found.add(f"{prefix}{name}")
        for folder in dirs:
            walk(f"{prefix}{folder}/")

    walk("")
    return found


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server over real HTTP, for the whole session."""
    port = _free_port()
    binary = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("moto_server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


S3_BUCKET = "coverlab-clips-test"


@pytest.fixture
def s3(settings, moto_endpoint):
    """Default storage on moto's S3 server (path-style, s3v4), with a fresh bucket."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=moto_endpoint, aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    )
    buckets = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if S3_BUCKET not in buckets:
        client.create_bucket(Bucket=S3_BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": S3_BUCKET,
                "access_key": "testing",
                "secret_key": "testing",
                "endpoint_url": moto_endpoint,
                "region_name": "us-east-1",
                "signature_version": "s3v4",
                "addressing_style": "path",
                "querystring_expire": 3600,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    yield client
