"""Cover job services: every state change of a job happens here.

Each function runs in one transaction that writes the job, its timeline (JobEvent) and the
ledger entry together, and enqueues follow-up tasks with `transaction.on_commit`. States only
move forward (`STATE_ORDER`); a failed job's hold is released exactly once (the ledger's
unique `settles` link), and a hold is captured only after the results sit in our storage.
"""

import dataclasses
import hashlib
import json
import logging
import mimetypes
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import credits
from accounts.models import CreditEntry, EntryKind, audit
from accounts.notifications import notify_job_outcome
from covers import files
from covers.models import (
    STATE_ORDER,
    TERMINAL_STATES,
    ArtImage,
    CoverJob,
    JobEvent,
    JobKind,
    JobState,
    Provider,
    ProviderEvent,
    Track,
)
from covers.providers.base import (
    ArtRequest,
    Callback,
    CoverRequest,
    ProviderError,
    State,
    TaskResult,
)
from lib.text import clean_label

log = logging.getLogger(__name__)

# What a creator reads when a job fails, by provider error code. Each says what to do next.
ERROR_MESSAGES = {
    "400": "The provider refused the lyrics, style or title (copyrighted lyrics, a content "
    "rule, or a parameter it does not accept). Change the lyrics or style and try again.",
    "402": "The provider account has run out of credits. Ask an operator to top it up, "
    "then try again.",
    "401": "The provider refused our API key. Ask an operator to check it.",
    "408": "The provider timed out while making this cover. Try again in a few minutes.",
    "413": "This audio matches an existing copyrighted work, so the provider will not cover "
    "it. Use a recording you own or have the rights to.",
    "429": "The provider is rate-limiting requests right now. Wait a minute and try again.",
    "451": "The provider could not fetch the clip from us. Try again; if it keeps failing, "
    "upload the clip again (or as another format).",
    "455": "The provider is under maintenance. Try again later.",
    "500": "The provider had a server error. Try again in a few minutes.",
    "501": "The provider could not generate the audio. Try another style, or another clip.",
    "531": "The provider could not make this cover and refunded it. Try again.",
    "timeout": "The provider did not finish in time, so we stopped waiting.",
    "unavailable": "The provider could not be reached. Try again in a few minutes.",
    "no_audio": "The provider said the cover was done but sent no audio. Try again.",
    "no_images": "The provider said the cover art was done but sent no images. Try again.",
    "rejected": "The provider refused this request.",
}

# How often to poll a job whose callbacks are late (first wait, then doubling), by provider.
POLL_BASE_SECONDS = {Provider.APIKLEY: 30, Provider.APIINONE: 20, Provider.APIFRAME: 10}
POLL_MAX_SECONDS = 300
# Providers that sign nothing: a terminal callback is confirmed by polling before it counts.
UNSIGNED_PROVIDERS = {Provider.APIKLEY, Provider.APIINONE}
SUBMIT_MAX_ATTEMPTS = 3
COPY_MAX_ATTEMPTS = 5
RESULT_MAX_BYTES = getattr(settings, "RESULT_MAX_BYTES", 200 * 1024 * 1024)
DEFAULT_RETENTION_DAYS = 14

STAGE_LABELS = {
    State.QUEUED: JobState.SUBMITTED,
    State.RUNNING: JobState.SUBMITTED,
    State.TEXT_READY: JobState.TEXT_READY,
    State.FIRST_READY: JobState.FIRST_READY,
    State.SUCCEEDED: JobState.SUCCEEDED,
    State.FAILED: JobState.FAILED,
}


class JobError(Exception):
    """A request we refuse before anything is held; the message is shown to the person."""


# --- provider seams --------------------------------------------------------------------


def adapter_for(job):
    from covers.providers import registry

    return registry.get_adapter(job.provider, job=job)


def uses_sandbox(provider, workspace=None):
    from covers.providers import registry

    return registry.uses_sandbox(provider, workspace)


def retention_days(provider, kind):
    try:
        from covers.providers import catalog

        days = catalog.info(provider).retention_days
        return int(days.get("images" if kind == JobKind.COVER_ART else "audio"))
    except Exception:  # noqa: BLE001 - data is optional; the documented minimum is safe
        return DEFAULT_RETENTION_DAYS


def callback_url(job):
    return f"{settings.PUBLIC_BASE_URL}/hooks/{job.provider}/{job.callback_token}/"


def error_message(code, fallback=""):
    return ERROR_MESSAGES.get(str(code), fallback or ERROR_MESSAGES["rejected"])


def _enqueue(name, *args):
    from covers import tasks

    transaction.on_commit(lambda: tasks.enqueue(name, *args))


def _event(job, message, state=""):
    event = JobEvent.objects.create(job=job, state=state, message=message[:500])
    # updated_at is the version the status poll compares: every visible change moves it.
    CoverJob.objects.filter(pk=job.pk).update(updated_at=event.created_at)
    return event


def hold_entry(job):
    return CreditEntry.objects.filter(job=job, kind=EntryKind.HOLD).first()


# --- creating jobs ---------------------------------------------------------------------

REQUEST_FIELDS = (
    "model", "custom_mode", "instrumental", "prompt", "style", "title", "negative_tags",
    "vocal_gender", "style_weight", "weirdness_constraint", "audio_weight", "persona_id",
    "audio_id",
)


def create_job(
    workspace, member, *, kind, provider, price, idempotency_key, params=None,
    source_clip=None, source_track=None, parent_job=None,
):
    """Create a job and hold its credits in one transaction; submit it on commit.

    The same (workspace, idempotency key) returns the first job: a double click or a
    resubmitted form never pays twice. Raises credits.CreditError (insufficient credits,
    cap exceeded) with nothing written.
    """
    params = {k: v for k, v in (params or {}).items() if k in REQUEST_FIELDS}
    existing = CoverJob.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            job = CoverJob.objects.create(
                workspace=workspace, created_by=member, kind=kind, provider=provider,
                sandbox=uses_sandbox(provider, workspace), source_clip=source_clip,
                source_track=source_track, parent_job=parent_job, credits_held=price,
                idempotency_key=idempotency_key, created_at=now,
                deadline_at=now + timedelta(minutes=settings.JOB_DEADLINE_MINUTES),
                **params,
            )
            if price > 0:
                credits.hold(
                    workspace, price, member=member, job=job,
                    idempotency_key=f"job-hold:{job.code}",
                    note=f"{job.get_kind_display()} with {job.get_provider_display()}",
                )
            _event(job, f"Queued. {price} credits held.", JobState.QUEUED)
            audit(workspace, member, "job.create", job, kind=kind, provider=provider, price=price)
            _enqueue("submit_job", job.pk)
    except IntegrityError:
        existing = CoverJob.objects.filter(
            workspace=workspace, idempotency_key=idempotency_key
        ).first()
        if existing is None:
            raise
        return existing, False
    return job, True


def existing_art_job(music_job):
    """The cover-art job already asked for this music task (the provider makes one per task)."""
    return (
        music_job.children.filter(kind=JobKind.COVER_ART, deleted_at__isnull=True)
        .exclude(state=JobState.FAILED)
        .order_by("created_at")
        .first()
    )


def create_art_job(music_job, member, *, price, idempotency_key):
    """Cover art for a finished music job; asking again returns the existing art job."""
    if music_job.kind == JobKind.COVER_ART:
        raise JobError("Cover art is made for a music job, not for another cover-art job.")
    if music_job.state != JobState.SUCCEEDED or not music_job.provider_task_id:
        raise JobError("Cover art can be made once the cover is done.")
    if (existing := existing_art_job(music_job)) is not None:
        return existing, False
    return create_job(
        music_job.workspace, member, kind=JobKind.COVER_ART, provider=music_job.provider,
        price=price, idempotency_key=idempotency_key, parent_job=music_job,
        params={"title": music_job.title},
    )


def import_job(workspace, member, provider, task_id):
    """Bring a provider task into the library by its id, so its tracks can be covered."""
    task_id = task_id.strip()
    key = f"import:{provider}:{task_id}"
    if (existing := CoverJob.objects.filter(workspace=workspace, idempotency_key=key).first()):
        return existing, False
    probe = CoverJob(workspace=workspace, provider=provider, kind=JobKind.UPLOAD_COVER)
    result = adapter_for(probe).import_task(task_id)
    if result.state == State.FAILED:
        raise JobError("That task failed at the provider, so it has no tracks to import.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                job = CoverJob.objects.create(
                    workspace=workspace, created_by=member, kind=JobKind.UPLOAD_COVER,
                    provider=provider, sandbox=uses_sandbox(provider, workspace), imported=True,
                    provider_task_id=result.task_id or task_id, idempotency_key=key,
                    state=JobState.SUBMITTED, submitted_at=timezone.now(),
                    title=(result.tracks[0].title if result.tracks else "")[:200],
                    style=(result.tracks[0].tags if result.tracks else ""),
                    deadline_at=timezone.now()
                    + timedelta(minutes=settings.JOB_DEADLINE_MINUTES),
                    next_poll_at=timezone.now(),
                )
        except IntegrityError:
            return CoverJob.objects.get(workspace=workspace, idempotency_key=key), False
        _event(job, f"Imported {provider} task {task_id}.", JobState.SUBMITTED)
        audit(workspace, member, "job.import", job, provider=provider, task_id=task_id)
    apply_result(job.pk, result, source="import")
    return CoverJob.objects.get(pk=job.pk), True


# --- submitting ------------------------------------------------------------------------


def build_cover_request(job):
    """What the adapter needs to cover this job's source."""
    request = CoverRequest(
        callback_url=callback_url(job),
        model=job.model, custom_mode=job.custom_mode, instrumental=job.instrumental,
        prompt=job.prompt, style=job.style, title=job.title, negative_tags=job.negative_tags,
        vocal_gender=job.vocal_gender, style_weight=job.style_weight,
        weirdness_constraint=job.weirdness_constraint, audio_weight=job.audio_weight,
        persona_id=job.persona_id, audio_id=job.audio_id,
    )
    if job.source_clip_id:
        request.upload_url = files.provider_url(job.source_clip)
        request.source_seconds = job.source_clip.duration
    elif job.source_track_id:
        track = job.source_track
        request.source_seconds = track.duration
        if job.provider == Provider.APIFRAME:
            request.parent_job_id = track.job.provider_task_id
            request.track_id = track.provider_track_id
            request.track_index = None if track.provider_track_id else track.position
        elif job.provider == Provider.APIINONE and not job.audio_id:
            request.audio_id = track.provider_track_id
        if track.audio:
            request.upload_url = files.signed_file_url(
                track.audio.name, expires_in=24 * 3600, absolute=True
            )
    return request


def _submit_to_provider(job):
    adapter = adapter_for(job)
    if job.kind == JobKind.COVER_ART:
        return adapter.submit_cover_art(
            ArtRequest(music_task_id=job.parent_job.provider_task_id, callback_url=callback_url(job))
        )
    request = build_cover_request(job)
    if job.kind == JobKind.TRACK_COVER and job.provider == Provider.APIFRAME:
        return adapter.submit_track_cover(request)
    return adapter.submit_upload_cover(request)


def submit_job(job_id):
    """Send a queued job to its provider. Claims the job first, so a second run is a no-op."""
    now = timezone.now()
    claimed = CoverJob.objects.filter(
        pk=job_id, state=JobState.QUEUED, provider_task_id="", submitted_at__isnull=True
    ).update(submitted_at=now, submit_attempts=F("submit_attempts") + 1)
    if not claimed:
        return False
    job = CoverJob.objects.select_related(
        "source_clip", "source_track__job", "parent_job", "workspace"
    ).get(pk=job_id)
    try:
        result = _submit_to_provider(job)
    except ProviderError as exc:
        if exc.task_id and job.kind == JobKind.COVER_ART:
            # Apikley answers a repeat with the art task it already made: follow that one.
            result = TaskResult(task_id=exc.task_id, state=State.RUNNING, stage="existing")
        elif exc.permanent or job.submit_attempts >= SUBMIT_MAX_ATTEMPTS:
            code = str(exc.code or (exc.status_code if exc.permanent else None)
                       or ("rejected" if exc.permanent else "unavailable"))
            fallback = exc.message if exc.permanent else ERROR_MESSAGES["unavailable"]
            fail_job(job.pk, code, error_message(code, fallback), detail=exc.message)
            return False
        else:
            _retry_submit_later(job, exc)
            return False
    except Exception as exc:  # noqa: BLE001 - an unexpected bug must not strand the hold
        log.exception("Submitting job %s failed", job.pk)
        if job.submit_attempts >= SUBMIT_MAX_ATTEMPTS:
            fail_job(job.pk, "unavailable", ERROR_MESSAGES["unavailable"], detail=str(exc))
        else:
            _retry_submit_later(job, exc)
        return False
    _mark_submitted(job.pk, result)
    return True


def _retry_submit_later(job, exc):
    delay = 30 * (2 ** max(job.submit_attempts - 1, 0))
    with transaction.atomic():
        CoverJob.objects.filter(pk=job.pk, state=JobState.QUEUED, provider_task_id="").update(
            submitted_at=None, next_poll_at=timezone.now() + timedelta(seconds=delay)
        )
        _event(job, f"The provider could not take the job yet ({exc}); trying again shortly.")


def _mark_submitted(job_id, result):
    now = timezone.now()
    with transaction.atomic():
        job = CoverJob.objects.select_for_update().get(pk=job_id)
        if not job.provider_task_id:
            job.provider_task_id = result.task_id
            job.save(update_fields=["provider_task_id", "updated_at"])
        if job.state != JobState.QUEUED:
            return  # a fast callback already moved it on
        job.state = JobState.SUBMITTED
        job.submitted_at = now
        job.next_poll_at = now + timedelta(seconds=poll_base(job.provider))
        job.poll_count = 0
        job.save(update_fields=["state", "submitted_at", "next_poll_at", "poll_count",
                                "updated_at"])
        _event(job, f"Sent to {job.get_provider_display()} (task {result.task_id}).",
               JobState.SUBMITTED)
    if result.state != State.RUNNING and result.state != State.QUEUED:
        apply_result(job_id, result, source="submit")


# --- applying what the provider says ----------------------------------------------------


def poll_base(provider):
    return POLL_BASE_SECONDS.get(provider, 30)


def next_poll_delay(job):
    return min(poll_base(job.provider) * (2 ** min(job.poll_count, 6)), POLL_MAX_SECONDS)


def apply_result(job_id, result, *, source, event=None):
    """Move the job forward as far as `result` says. Returns True when anything changed.

    Late, duplicate and backward results change nothing (the caller keeps them in the log).
    """
    if result.state == State.FAILED:
        job = CoverJob.objects.get(pk=job_id)
        if job.is_terminal:
            return False
        code = str(result.error_code or "rejected")
        fallback = result.error_message or ERROR_MESSAGES["rejected"]
        return fail_job(
            job_id, code, error_message(code, fallback), detail=result.error_message,
            refunded=result.refunded or code == "531",
        )
    target = STAGE_LABELS[result.state]
    with transaction.atomic():
        job = CoverJob.objects.select_for_update().get(pk=job_id)
        if job.is_terminal:
            return False
        if STATE_ORDER[target] < STATE_ORDER[job.state]:
            return False
        if target == JobState.SUCCEEDED:
            missing = _missing_results(job, result)
            if missing:
                transaction.on_commit(lambda: fail_job(
                    job_id, missing, ERROR_MESSAGES[missing], detail=f"{source}: empty result"
                ))
                return False
        changed = False
        fields = ["updated_at"]
        if result.progress is not None and result.progress != job.progress and (
            job.progress is None or result.progress > job.progress or target != job.state
        ):
            job.progress = result.progress
            fields.append("progress")
            changed = True
        if job.kind == JobKind.COVER_ART:
            changed |= _store_image_urls(job, result)
        else:
            changed |= _store_track_urls(job, result, final=target == JobState.SUCCEEDED)
        if target != job.state:
            job.state = target
            fields.append("state")
            changed = True
            stage = f" ({result.stage})" if result.stage and not result.stage.isdigit() else ""
            _event(job, f"{JobState(target).label}{stage}.", target)
        if target == JobState.SUCCEEDED:
            job.finished_at = timezone.now()
            job.next_poll_at = None
            job.progress = 100 if job.provider == Provider.APIFRAME else job.progress
            fields += ["finished_at", "next_poll_at", "progress"]
            _enqueue("store_results", job.pk)
        job.save(update_fields=list(dict.fromkeys(fields)))
    return changed


def _missing_results(job, result):
    if job.kind == JobKind.COVER_ART:
        return "" if [u for u in result.images if u] else "no_images"
    return "" if [t for t in result.tracks if t.audio_url] else "no_audio"


def _store_track_urls(job, result, *, final):
    expires = timezone.now() + timedelta(days=retention_days(job.provider, job.kind))
    existing = {t.position: t for t in job.tracks.all()}
    changed = False
    for position, tr in enumerate(result.tracks[:2], start=1):
        track = existing.get(position) or Track(job=job, position=position)
        before = (track.provider_track_id, track.audio_url, track.stream_url, track.image_url)
        for attr in ("title", "tags", "prompt"):
            value = getattr(tr, attr) or ""
            if value:
                setattr(track, attr, value[:200] if attr == "title" else value)
        if tr.id:
            track.provider_track_id = tr.id[:100]
        if tr.duration:
            track.duration = tr.duration
        if tr.stream_url:
            track.stream_url = tr.stream_url[:1000]
        if tr.audio_url and (final or not track.audio_url):
            track.audio_url = tr.audio_url[:1000]
        if tr.image_url:
            track.image_url = tr.image_url[:1000]
        after = (track.provider_track_id, track.audio_url, track.stream_url, track.image_url)
        if track.pk is None or before != after:
            track.provider_urls_expire_at = expires
            track.save()
            changed = True
    return changed


def _store_image_urls(job, result):
    expires = timezone.now() + timedelta(days=retention_days(job.provider, job.kind))
    existing = {i.position: i for i in job.images.all()}
    changed = False
    for position, url in enumerate([u for u in result.images if u][:2], start=1):
        image = existing.get(position) or ArtImage(job=job, position=position)
        if image.url != url:
            image.url = url[:1000]
            image.url_expires_at = expires
            image.save()
            changed = True
    return changed


def fail_job(job_id, code, message, *, detail="", refunded=False):
    """Fail a running job and release its hold, once. Returns False if it was already over."""
    with transaction.atomic():
        done = CoverJob.objects.filter(pk=job_id).exclude(state__in=TERMINAL_STATES).update(
            state=JobState.FAILED, error_code=str(code)[:20], error_message=message,
            provider_refunded=refunded, finished_at=timezone.now(), next_poll_at=None,
            updated_at=timezone.now(),
        )
        if not done:
            return False
        job = CoverJob.objects.get(pk=job_id)
        note = f"Job failed ({code})"
        if (entry := hold_entry(job)) is not None:
            credits.release(entry, note=note)
        _event(job, f"Failed: {message}" + (f" ({detail})" if detail and detail not in message
                                            else ""), JobState.FAILED)
        _event(job, f"You were not charged: {job.credits_held} credits went back to the "
               "workspace.")
        audit(job.workspace, None, "job.fail", job, code=str(code))
        notify_job_outcome(job)  # the in-app notification, and the email on commit
    return True


# --- callbacks and polling -------------------------------------------------------------


def body_hash(body):
    return hashlib.sha256(body).hexdigest()[:32]


def dedupe_key(provider, task_id, stage, body):
    return f"{provider}:{task_id}:{stage}:{body_hash(body)}"[:300]


def receive_callback(job, body, headers):
    """Verify and log a push; a task applies it. Raises ProviderError if it is forged.

    Returns (event, created). A duplicate (same task, stage and body) returns the first row.
    """
    adapter = adapter_for(job)
    result = adapter.parse_callback(Callback(body=body, headers=headers), job.kind)
    key = dedupe_key(job.provider, result.task_id or job.provider_task_id, result.stage or
                     result.state.value, body)
    try:
        with transaction.atomic():
            event = ProviderEvent.objects.create(
                provider=job.provider, job=job, source="callback", dedupe_key=key,
                headers=headers, body=body.decode("utf-8", "replace"),
            )
            _enqueue("apply_event", event.pk)
    except IntegrityError:
        return ProviderEvent.objects.get(dedupe_key=key), False
    return event, True


def _claim_event(event_id):
    return ProviderEvent.objects.filter(
        pk=event_id, status=ProviderEvent.Status.PENDING, processed_at__isnull=True
    ).update(processed_at=timezone.now())


def _finish_event(event_id, status, note=""):
    ProviderEvent.objects.filter(pk=event_id).update(status=status, note=note[:300])


def apply_event(event_id):
    """Apply a logged callback to its job. A second run finds the event claimed and stops."""
    if not _claim_event(event_id):
        return False
    event = ProviderEvent.objects.select_related("job").get(pk=event_id)
    job = event.job
    if job is None:
        _finish_event(event_id, ProviderEvent.Status.IGNORED, "no job")
        return False
    adapter = adapter_for(job)
    try:
        result = adapter.parse_callback(
            Callback(body=event.body.encode(), headers=event.headers), job.kind
        )
    except ProviderError as exc:
        _finish_event(event_id, ProviderEvent.Status.ERROR, str(exc))
        return False
    if job.provider_task_id and result.task_id and result.task_id != job.provider_task_id:
        _finish_event(event_id, ProviderEvent.Status.IGNORED, "another task's callback")
        return False
    if job.is_terminal:
        _finish_event(event_id, ProviderEvent.Status.IGNORED, f"job already {job.state}")
        return False
    if result.state.terminal and job.provider in UNSIGNED_PROVIDERS:
        # Nothing signs this push: believe a final state only once the provider confirms it.
        try:
            confirmed = adapter.fetch_status(job.provider_task_id or result.task_id, job.kind)
        except ProviderError as exc:
            _schedule_poll_soon(job)
            _finish_event(event_id, ProviderEvent.Status.IGNORED, f"unconfirmed: {exc}")
            return False
        if not confirmed.state.terminal:
            _schedule_poll_soon(job)
            applied = apply_result(job.pk, confirmed, source="confirm")
            _finish_event(event_id, ProviderEvent.Status.IGNORED,
                          f"status says {confirmed.state.value}; waiting")
            return applied
        result = confirmed
    applied = apply_result(job.pk, result, source="callback", event=event)
    _finish_event(
        event_id,
        ProviderEvent.Status.APPLIED if applied else ProviderEvent.Status.IGNORED,
        "" if applied else "late or duplicate",
    )
    return applied


def _schedule_poll_soon(job):
    CoverJob.objects.filter(pk=job.pk).exclude(state__in=TERMINAL_STATES).update(
        next_poll_at=timezone.now() + timedelta(seconds=poll_base(job.provider))
    )


def poll_job(job_id):
    """Ask the provider where a job stands and apply the answer; logged as a poll event."""
    job = CoverJob.objects.filter(pk=job_id).first()
    if job is None or job.is_terminal or not job.provider_task_id:
        return False
    try:
        result = adapter_for(job).fetch_status(job.provider_task_id, job.kind)
    except ProviderError as exc:
        if job.poll_count in (1, 3, 5):  # say so on the timeline, without flooding it
            _event(job, f"Could not reach {job.get_provider_display()} to check on the job; "
                   "will try again.")
        log.info("Polling job %s failed: %s", job.pk, exc)
        return False
    body = json.dumps(dataclasses.asdict(result), default=str, sort_keys=True).encode()
    key = dedupe_key(job.provider, job.provider_task_id, f"poll-{result.state.value}", body)
    event, created = ProviderEvent.objects.get_or_create(
        dedupe_key=key,
        defaults={"provider": job.provider, "job": job, "source": "poll",
                  "body": body.decode(), "processed_at": timezone.now()},
    )
    applied = apply_result(job.pk, result, source="poll")
    if created:
        _finish_event(event.pk, ProviderEvent.Status.APPLIED if applied
                      else ProviderEvent.Status.IGNORED)
    return applied


def due_for_poll(now=None):
    now = now or timezone.now()
    return CoverJob.objects.filter(
        next_poll_at__lte=now,
    ).exclude(state__in=TERMINAL_STATES)


def claim_poll(job):
    """Push the job's next poll time forward (backoff), only if nobody else did: True if ours."""
    delay = min(poll_base(job.provider) * (2 ** min(job.poll_count, 6)), POLL_MAX_SECONDS)
    return bool(
        CoverJob.objects.filter(pk=job.pk, next_poll_at=job.next_poll_at).update(
            next_poll_at=timezone.now() + timedelta(seconds=delay),
            poll_count=job.poll_count + 1,
        )
    )


def expire_overdue(now=None):
    """Fail (and refund) every job stuck past its deadline. Returns how many."""
    now = now or timezone.now()
    count = 0
    overdue = CoverJob.objects.filter(deadline_at__lt=now).exclude(state__in=TERMINAL_STATES)
    for job_id in overdue.values_list("pk", flat=True):
        minutes = settings.JOB_DEADLINE_MINUTES
        count += fail_job(
            job_id, "timeout",
            f"The provider did not finish within {minutes} minutes, so we stopped waiting. "
            "Try again.",
        )
    return count


# --- results ---------------------------------------------------------------------------

AUDIO_TYPES = {
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/wav": ".wav", "audio/x-wav": ".wav",
    "audio/wave": ".wav", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a", "audio/aac": ".aac",
    "audio/ogg": ".ogg", "audio/flac": ".flac", "audio/x-flac": ".flac", "audio/webm": ".webm",
}
IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp",
               "image/gif": ".gif"}


class CopyFailed(Exception):
    pass


def _download(url, allowed, max_bytes=None):
    """Stream a provider file into a temp file, refusing other content types and big files."""
    from covers.providers import http

    max_bytes = max_bytes or RESULT_MAX_BYTES
    tmp = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    try:
        with http.client() as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise CopyFailed(f"HTTP {response.status_code}")
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            suffix = allowed.get(ctype)
            if suffix is None and ctype == "application/octet-stream":
                guessed = mimetypes.guess_type(url.split("?")[0])[0] or ""
                suffix = allowed.get(guessed)
            if suffix is None:
                raise CopyFailed(f"unexpected content type {ctype or 'none'}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise CopyFailed(f"file larger than {max_bytes} bytes")
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise CopyFailed(f"file larger than {max_bytes} bytes")
                tmp.write(chunk)
        if size == 0:
            raise CopyFailed("empty file")
        tmp.seek(0)
        return tmp, suffix
    except CopyFailed:
        tmp.close()
        raise
    except Exception as exc:  # noqa: BLE001 - network errors of any kind: retry later
        tmp.close()
        raise CopyFailed(str(exc) or exc.__class__.__name__) from exc


def _copy_into(field, url, allowed, stem):
    tmp, suffix = _download(url, allowed)
    with tmp:
        field.save(f"{stem}{suffix}", File(tmp), save=False)


def store_results(job_id):
    """Copy a finished job's files into our storage, then capture its credits.

    Files already copied are skipped, so a retry copies only what is missing. The capture
    happens once every file is ours (claimed by a conditional update on results_stored_at).
    """
    job = CoverJob.objects.filter(pk=job_id, state=JobState.SUCCEEDED).first()
    if job is None or job.results_stored_at is not None:
        return False
    # (row, file field, provider URL, accepted types, file stem, label for errors)
    if job.kind == JobKind.COVER_ART:
        wanted = [(image, "image", image.url, IMAGE_TYPES, f"art{image.position}",
                   f"image {image.position}") for image in job.images.all()]
    else:
        wanted = []
        for track in job.tracks.all():
            wanted += [
                (track, "audio", track.audio_url, AUDIO_TYPES, f"track{track.position}",
                 f"track {track.position} audio"),
                (track, "image", track.image_url, IMAGE_TYPES, f"cover{track.position}",
                 f"track {track.position} image"),
            ]
    errors = []
    for row, name, url, allowed, stem, label in wanted:
        if getattr(row, name) or not url:
            continue  # already ours, or nothing to copy
        try:
            _copy_into(getattr(row, name), url, allowed, stem)
            row.save(update_fields=[name])
        except CopyFailed as exc:
            errors.append(f"{label}: {exc}")
    if errors:
        attempts = job.copy_attempts + 1
        detail = " (" + "; ".join(errors)[:300] + ")"
        with transaction.atomic():
            if not CoverJob.objects.filter(
                pk=job_id, copy_attempts=job.copy_attempts, results_stored_at__isnull=True
            ).update(
                copy_attempts=attempts,
                next_poll_at=timezone.now() + timedelta(seconds=60 * 2 ** min(attempts - 1, 5)),
            ):
                return False  # another run got here first
            if attempts < COPY_MAX_ATTEMPTS:
                _event(job, "Could not copy every file to our storage yet; retrying. The "
                       "provider's links work meanwhile." + detail)
            else:
                # Our failure, not the creator's: give the credits back rather than hold
                # them forever; the provider's links stay on the page until they expire.
                if (entry := hold_entry(job)) is not None:
                    credits.release(entry, note="Results could not be stored")
                _event(job, "We could not save the files to our storage, so you were not "
                       "charged. Download them from the provider's links before they "
                       "expire." + detail)
                if not job.imported:
                    from covers.templatetags.jobs import job_title

                    notify_job_outcome(job, message=(
                        f'Your {job.get_kind_display().lower()} "{job_title(job)}" is done, but '
                        "we could not save its files, so you were not charged. Download them "
                        "from the job page before the provider's links expire."
                    ))
        return False
    with transaction.atomic():
        if not CoverJob.objects.filter(pk=job_id, results_stored_at__isnull=True).update(
            results_stored_at=timezone.now(), next_poll_at=None,
            credits_charged=job.credits_held, updated_at=timezone.now(),
        ):
            return False
        if (entry := hold_entry(job)) is not None:
            credits.capture(entry, note="Results stored")
        what = "images" if job.kind == JobKind.COVER_ART else "tracks"
        charged = f" {job.credits_held} credits charged." if job.credits_held else ""
        _event(job, f"Saved the {what} to your library.{charged}")
        if not job.imported:
            notify_job_outcome(job)  # the in-app notification, and the email on commit
    return True



def copies_due(now=None):
    """Succeeded jobs whose files are not all ours yet, due for another try."""
    now = now or timezone.now()
    return CoverJob.objects.filter(
        state=JobState.SUCCEEDED, results_stored_at__isnull=True,
        copy_attempts__gt=0, copy_attempts__lt=COPY_MAX_ATTEMPTS,
    ).filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))


def resubmit_due(now=None):
    now = now or timezone.now()
    return CoverJob.objects.filter(
        state=JobState.QUEUED, provider_task_id="", submitted_at__isnull=True,
    ).filter(
        Q(next_poll_at__lte=now)
        | Q(next_poll_at__isnull=True, created_at__lte=now - timedelta(minutes=2))
    )


# --- small changes -----------------------------------------------------------------------


def rename_job(job, member, title):
    """Give a job the name the library shows. The provider's own title is left as it was."""
    title = clean_label(title)
    if not title:
        raise JobError("Give the job a name.")
    with transaction.atomic():
        old = job.title
        CoverJob.objects.filter(pk=job.pk).update(title=title)
        job.title = title
        audit(job.workspace, member, "job.rename", job.code, old=old, new=title)
    return job


def is_live(job):
    """Still at work: running, or done with its results still being copied."""
    if not job.is_terminal:
        return True
    return (
        job.state == JobState.SUCCEEDED and job.results_stored_at is None
        and job.copy_attempts < COPY_MAX_ATTEMPTS
    )


def delete_job(job, member):
    """Delete a finished job from the library. Its stored tracks and images go; its row
    stays, marked deleted, so the ledger and the audit log still name it. A cover takes its
    cover art with it. Refused while it (or its cover art) runs, while its results are being
    copied, and while a cover of one of its tracks is being made (that cover needs the file)."""
    with transaction.atomic():
        jobs = list(
            CoverJob.objects.select_for_update()
            .filter(Q(pk=job.pk) | Q(parent_job=job.pk, kind=JobKind.COVER_ART))
            .filter(deleted_at__isnull=True)
        )
        if not any(j.pk == job.pk for j in jobs):
            return False  # already deleted
        for each in jobs:
            if is_live(each):
                what = "Its cover art" if each.pk != job.pk else "This job"
                raise JobError(f"{what} is still being made. Delete it once it has finished.")
        pks = [j.pk for j in jobs]
        if CoverJob.objects.filter(source_track__job__in=pks).exclude(
            state__in=TERMINAL_STATES
        ).exists():
            raise JobError("A cover of one of its tracks is being made from its file. "
                           "Delete it once that cover has finished.")
        names = [name for pair in Track.objects.filter(job__in=pks).values_list("audio", "image")
                 for name in pair if name]
        names += [name for name in ArtImage.objects.filter(job__in=pks)
                  .values_list("image", flat=True) if name]
        now = timezone.now()
        CoverJob.objects.filter(pk__in=pks).update(deleted_at=now, updated_at=now)
        Track.objects.filter(job__in=pks).update(audio="", image="")
        ArtImage.objects.filter(job__in=pks).update(image="")
        audit(job.workspace, member, "job.delete", job.code, kind=job.kind,
              title=job.title, files=len(names))
        transaction.on_commit(lambda: files.discard(*names))
    return True


def set_favourite(track, member, favourite):
    with transaction.atomic():
        Track.objects.filter(pk=track.pk).update(favourite=favourite)
        CoverJob.objects.filter(pk=track.job_id).update(updated_at=timezone.now())
        track.favourite = favourite
    return track
