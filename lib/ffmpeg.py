"""Running the ffmpeg binary that ships inside the imageio-ffmpeg wheel (no system install)."""

import subprocess
from functools import cache


class FFmpegError(Exception):
    pass


@cache
def ffmpeg_path():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args, *, timeout=120, input_bytes=None):
    """Run ffmpeg quietly with `args` (without the binary); return stdout bytes.
    Raises FFmpegError with ffmpeg's last lines of stderr on failure."""
    cmd = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    if input_bytes is not None:
        cmd.remove("-nostdin")
    try:
        done = subprocess.run(
            cmd, input=input_bytes, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"ffmpeg took longer than {timeout}s") from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise FFmpegError("; ".join(tail) or f"ffmpeg exited {done.returncode}")
    return done.stdout
