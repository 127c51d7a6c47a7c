"""Upload a 200 MB WAV through the web app and print how much the web process grew.

Starts `manage.py runserver` (one process, no reloader) on a throwaway SQLite database and
media folder, logs in a fresh user, streams the file with httpx as a multipart POST to
/clips/upload/, and reads the server's peak resident memory (VmHWM) from /proc before and
after. Uploads are streamed to a temporary file, hashed and copied to storage in chunks, so
the growth must stay far below the file's size. Target: under 50 MB.

    .venv/bin/python bench/upload_memory.py [--mb 200]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))

from lib.ffmpeg import run_ffmpeg  # noqa: E402

TARGET_MB = 50
# 96 kHz, 24-bit stereo: 576 kB a second, so 200 MB is about 5.8 minutes, under the 8-minute
# limit every upload is checked against.
RATE, BYTES_PER_SECOND = 96000, 96000 * 3 * 2


def proc_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for {pid}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_wav(path, megabytes):
    seconds = megabytes * 1024 * 1024 / BYTES_PER_SECOND
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={RATE}:duration={seconds:.3f}",
         "-ac", "2", "-c:a", "pcm_s24le", "-f", "wav", "-y", str(path)],
        timeout=600,
    )
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the WAV to upload")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="coverlab-bench-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "STORAGE_BACKEND": "local",
        "DEBUG": "1",
        "UPLOAD_MAX_BYTES": str((args.mb + 50) * 1024 * 1024),
        "TMPDIR": str(work),
    }
    env.pop("REDIS_URL", None)
    python = sys.executable
    manage = [python, str(BASE / "manage.py")]

    wav = work / "big.wav"
    seconds = make_wav(wav, args.mb)
    size = wav.stat().st_size
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True)
    session_key = subprocess.run(
        [*manage, "shell", "-c", (
            "from accounts import services\n"
            "from django.contrib.sessions.backends.db import SessionStore\n"
            "from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY\n"
            "u = services.sign_up('bench@example.org', 'a long bench pass phrase')\n"
            "s = SessionStore()\n"
            "s[SESSION_KEY] = str(u.pk)\n"
            "s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
            "s[HASH_SESSION_KEY] = u.get_session_auth_hash()\n"
            "s.create()\n"
            "print(s.session_key)\n"
        )],
        env=env, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]

    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    csrf = "b" * 32
    cookies = {"sessionid": session_key, "csrftoken": csrf}
    try:
        with httpx.Client(base_url=base, cookies=cookies, timeout=600) as client:
            for _ in range(100):
                try:
                    client.get("/healthz")
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            # Warm up: import everything a clip page and an upload touch.
            assert client.get("/clips/").status_code == 200
            client.post("/clips/upload/", headers={"X-CSRFToken": csrf, "HX-Request": "true"},
                        files={"file": ("warm.wav", b"RIFF", "audio/wav")})
            before_rss = proc_kib(server.pid, "VmRSS")
            before_peak = proc_kib(server.pid, "VmHWM")
            started = time.monotonic()
            with open(wav, "rb") as handle:
                response = client.post(
                    "/clips/upload/",
                    headers={"X-CSRFToken": csrf, "HX-Request": "true"},
                    files={"file": ("big.wav", handle, "audio/wav")},
                )
            elapsed = time.monotonic() - started
            after_peak = proc_kib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=10)

    growth_mb = (after_peak - max(before_peak, before_rss)) / 1024
    print(f"uploaded {size / 2**20:.1f} MB WAV ({seconds / 60:.1f} min) in {elapsed:.1f} s: "
          f"HTTP {response.status_code}")
    print(f"web process RSS before {before_rss / 1024:.1f} MB, peak before "
          f"{before_peak / 1024:.1f} MB, peak after {after_peak / 1024:.1f} MB")
    print(f"peak growth {growth_mb:.1f} MB for a {size / 2**20:.0f} MB upload "
          f"(ratio {growth_mb / (size / 2**20):.3f}); target < {TARGET_MB} MB")
    subprocess.run(["rm", "-rf", str(work)], check=False)
    if response.status_code != 201:
        print("FAIL: the upload was not accepted:", response.text[:300])
        return 1
    if growth_mb >= TARGET_MB:
        print("FAIL: the web process grew too much")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
