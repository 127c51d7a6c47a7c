"""Template helpers for job pages: where to play a track from, stage markers, file links."""

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from covers import files
from covers.models import STATE_ORDER, JobState

register = template.Library()


@register.simple_tag
def stage_class(job, stage, events=()):
    if job.state == JobState.FAILED:
        # How far it got before failing, from the timeline.
        reached = {e.state for e in events if e.state and e.state != JobState.FAILED}
        return "stage-done" if stage in reached else "stage-skipped"
    if STATE_ORDER[job.state] > STATE_ORDER[stage]:
        return "stage-done"
    if job.state == stage:
        return "stage-done" if stage == JobState.SUCCEEDED else "stage-current"
    return "stage-todo"


@register.simple_tag
def track_source(track):
    """Our stored copy when we have it; else the provider's file (with its expiry); else its
    stream while the file is being made."""
    if track.audio:
        return {"url": files.playback_url(track.audio.name), "origin": "ours"}
    if track.audio_url:
        return {"url": track.audio_url, "origin": "provider",
                "expires": track.provider_urls_expire_at}
    if track.stream_url:
        return {"url": track.stream_url, "origin": "stream"}
    return None


@register.simple_tag
def image_source(stored, url, expires=None):
    if stored:
        return {"url": files.playback_url(stored.name), "origin": "ours"}
    if url:
        return {"url": url, "origin": "provider", "expires": expires}
    return None


@register.simple_tag
def download_url(stored, name):
    if not stored:
        return ""
    suffix = "." + stored.name.rsplit(".", 1)[-1] if "." in stored.name else ""
    safe = "".join(c for c in (name or "coverlab") if c.isalnum() or c in " -_").strip()
    return files.playback_url(stored.name, download_name=f"{safe or 'coverlab'}{suffix}")


@register.filter
def seconds(value):
    if value is None:
        return ""
    value = int(round(value))
    return f"{value // 60}:{value % 60:02d}"


@register.filter
def expired(when):
    return when is not None and when <= timezone.now()


@register.filter
def job_title(job):
    """A name for a job even when the creator gave none (simple mode has no title).
    Uses only relations the pages select_related."""
    if job.title:
        return job.title
    labels = job.__dict__  # the library annotates these names instead of joining models
    if job.kind == "cover_art":
        parent = labels["parent_label"] if "parent_label" in labels else (
            job.parent_job.title if job.parent_job_id else "")
        return f"Cover art for {parent}" if parent else "Cover art"
    if job.source_track_id:
        track = labels["track_label"] if "track_label" in labels else job.source_track.title
        return f"Cover of {track or 'a track'}"
    if job.source_clip_id:
        clip = labels["clip_label"] if "clip_label" in labels else job.source_clip.display_name
        return f"Cover of {clip}"
    if job.imported:
        return f"Imported {job.get_provider_display()} task"
    return job.get_kind_display()


_JOB_URL = None


@register.filter
def job_url(job):
    """The job page's URL; reversed once, then filled in (the library renders many rows)."""
    global _JOB_URL
    if _JOB_URL is None:
        placeholder = "00000000-0000-0000-0000-000000000000"
        _JOB_URL = reverse("job_detail", args=[placeholder]).replace(placeholder, "{}")
    return _JOB_URL.format(job.code)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.simple_tag
def when(moment):
    """<time> for a list row: "21 Nov 06:11", ISO in the attribute. Django's date filter
    (translation and format lookups per call) was most of a library row's cost."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    label = f"{local.day} {MONTHS[local.month - 1]} {local:%H:%M}"
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), label)


@register.simple_tag
def try_again_url(job):
    """The new-cover form for a failed job's source, filled in with the job's settings; ""
    when the source is gone (a deleted clip, a deleted job's track) or the job is not a
    cover."""
    if job.kind == "upload_cover" and job.source_clip_id and job.source_clip.deleted_at is None:
        url = reverse("clip_cover", args=[job.source_clip.code])
    elif (job.kind == "track_cover" and job.source_track_id
          and job.source_track.job.deleted_at is None):
        url = reverse("track_cover", args=[job.source_track.code])
    else:
        return ""
    return f"{url}?again={job.code}"
