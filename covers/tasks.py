"""django-q2 tasks for cover jobs. Each takes ids, reloads rows and calls a service; each is
safe to run twice (the services claim rows with conditional updates)."""

import logging

from django.db import transaction

from accounts.services import purge_retired_keys
from covers import services

log = logging.getLogger(__name__)

# Seconds a task may run; q2's `retry` (420 s) stays comfortably above every one of them.
TIMEOUTS = {
    "submit_job": 120,
    "apply_event": 120,
    "poll_job": 120,
    "store_results": 300,
    "sweep": 240,
}
# How many jobs of one provider a sweep polls: well under each provider's rate limit
# (Apikley: 3 queries per second per task; the others publish none).
POLLS_PER_SWEEP = {"apikley": 60, "apiinone": 30, "apiframe": 30}


def enqueue(name, *args):
    from django_q.tasks import async_task

    return async_task(f"covers.tasks.{name}", *args, timeout=TIMEOUTS[name],
                      task_name=f"{name}:{'-'.join(map(str, args))}"[:100])


def submit_job(job_id):
    return services.submit_job(job_id)


def apply_event(event_id):
    return services.apply_event(event_id)


def poll_job(job_id):
    return services.poll_job(job_id)


def store_results(job_id):
    return services.store_results(job_id)


def sweep():
    """The safety net, run by the `sweep-jobs` schedule: time out stuck jobs, retry
    submissions and copies, and poll jobs whose callbacks are late."""
    expired = services.expire_overdue()
    purge_retired_keys()  # replaced or removed workspace keys, once no job can need them
    for job_id in services.resubmit_due().values_list("pk", flat=True)[:50]:
        transaction.on_commit(lambda j=job_id: enqueue("submit_job", j))
    for job_id in services.copies_due().values_list("pk", flat=True)[:20]:
        enqueue("store_results", job_id)
    polled = 0
    for provider, limit in POLLS_PER_SWEEP.items():
        due = (
            services.due_for_poll()
            .filter(provider=provider)
            .exclude(provider_task_id="")
            .order_by("next_poll_at")
            .only("pk", "provider", "next_poll_at", "poll_count")[:limit]
        )
        for job in due:
            if services.claim_poll(job):
                enqueue("poll_job", job.pk)
                polled += 1
    return {"expired": expired, "polled": polled}
