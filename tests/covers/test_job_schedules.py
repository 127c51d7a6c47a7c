"""`manage.py ensure_schedules` puts the job sweeper in place, once."""

from django.core.management import call_command
from django_q.models import Schedule


def test_ensure_schedules_creates_the_sweeper_once(db):
    call_command("ensure_schedules")
    call_command("ensure_schedules")
    schedule = Schedule.objects.get(name="sweep-jobs")
    assert schedule.func == "covers.tasks.sweep"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1
    assert schedule.repeats == -1
    assert Schedule.objects.filter(func="covers.tasks.sweep").count() == 1


def test_ensure_schedules_sweeps_unclaimed_direct_uploads_hourly(db):
    call_command("ensure_schedules")
    call_command("ensure_schedules")
    schedule = Schedule.objects.get(name="sweep-unclaimed-uploads")
    assert schedule.func == "covers.clips.sweep_unclaimed_uploads"
    assert schedule.minutes == 60
    assert Schedule.objects.filter(func=schedule.func).count() == 1


def test_sweep_runs_as_the_schedule_would(db):
    from covers import tasks

    assert tasks.sweep() == {"expired": 0, "polled": 0}
