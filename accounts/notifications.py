"""In-app notifications (the top bar's badge and /notifications/) and their emails.

`notify_job_outcome` runs inside the transaction that finished or failed a job: one
notification per job outcome (a unique constraint, so applying the terminal event twice
changes nothing), and, for people who asked in their profile, an email sent by a q2 task
after commit. The task claims `emailed_at` first, so running it twice sends one email.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification

EMAIL_TASK = "accounts.tasks.send_notification_email"
EMAIL_TIMEOUT = 60  # seconds; q2's retry (420 s) stays well above it


def _describe(job):
    from covers.models import JobState
    from covers.templatetags.jobs import job_title

    what = job.get_kind_display().lower()
    title = job_title(job)
    if job.state == JobState.FAILED:
        kind = Notification.Kind.JOB_FAILED
        message = f'Your {what} "{title}" failed. You were not charged.'
    else:
        kind = Notification.Kind.JOB_SUCCEEDED
        message = f'Your {what} "{title}" is ready.'
    return kind, message[:300]


def notify_job_outcome(job, message=None):
    """Tell the job's creator it succeeded or failed (`message` replaces the usual words).
    Call inside the job's transaction. Returns the new notification, or None (no creator,
    not finished, already told)."""
    from covers.models import TERMINAL_STATES

    if job.created_by_id is None or job.state not in TERMINAL_STATES:
        return None
    kind, usual = _describe(job)
    message = (message or usual)[:300]
    try:
        with transaction.atomic():  # a savepoint: a duplicate leaves the caller's work intact
            notification = Notification.objects.create(
                recipient_id=job.created_by_id, workspace_id=job.workspace_id, job=job,
                kind=kind, message=message,
            )
    except IntegrityError:
        return None
    if notification.recipient.notify_by_email:
        transaction.on_commit(lambda: enqueue_email(notification.pk))
    return notification


def enqueue_email(notification_id):
    from django_q.tasks import async_task

    async_task(EMAIL_TASK, notification_id, timeout=EMAIL_TIMEOUT,
               task_name=f"notification-email:{notification_id}")


def send_email(notification_id):
    """The q2 task: email one notification, once. Returns True when it sent it."""
    notification = (
        Notification.objects.select_related(
            "recipient", "workspace", "job__parent_job", "job__source_clip",
            "job__source_track",
        ).filter(pk=notification_id).first()
    )
    if notification is None or not notification.recipient.notify_by_email:
        return False
    if not Notification.objects.filter(pk=notification_id, emailed_at=None).update(
        emailed_at=timezone.now()
    ):
        return False  # already sent (a second run of the task)
    job = notification.job
    context = {
        "notification": notification,
        "job": job,
        "failed": notification.kind == Notification.Kind.JOB_FAILED,
        "url": settings.PUBLIC_BASE_URL + reverse("job_detail", args=[job.code]),
        "profile_url": settings.PUBLIC_BASE_URL + reverse("profile"),
    }
    subject = " ".join(render_to_string("emails/job_finished_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject, render_to_string("emails/job_finished.txt", context), None,
        [notification.recipient.email],
    )
    message.attach_alternative(render_to_string("emails/job_finished.html", context),
                               "text/html")
    try:
        message.send()
    except Exception:
        # Let q2 retry: release the claim so the next attempt can send.
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)
        raise
    return True


def unread(user):
    return for_user(user).filter(read_at=None)


def for_user(user):
    """The user's notifications in workspaces they still belong to, about jobs still in the
    library, newest first."""
    return Notification.objects.filter(
        Q(job=None) | Q(job__deleted_at=None), recipient=user, workspace__memberships__user=user
    ).select_related("workspace", "job")


def mark_read(notification):
    Notification.objects.filter(pk=notification.pk, read_at=None).update(
        read_at=timezone.now()
    )


def mark_all_read(user):
    return Notification.objects.filter(recipient=user, read_at=None).update(
        read_at=timezone.now()
    )
