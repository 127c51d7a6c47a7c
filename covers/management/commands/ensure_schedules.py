from django.core.management.base import BaseCommand
from django_q.models import Schedule

# name -> (task path, minutes between runs). Created or updated by name, never duplicated.
SCHEDULES = {
    # Polls jobs whose callbacks are late, retries submissions and copies, times out stuck jobs.
    "sweep-jobs": ("covers.tasks.sweep", 1),
    # S3 direct uploads whose browser tab closed before the server checked them.
    "sweep-unclaimed-uploads": ("covers.clips.sweep_unclaimed_uploads", 60),
}


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules this product runs on."

    def handle(self, *args, **options):
        for name, (func, minutes) in SCHEDULES.items():
            _, created = Schedule.objects.update_or_create(
                name=name,
                defaults={
                    "func": func,
                    "schedule_type": Schedule.MINUTES,
                    "minutes": minutes,
                    "repeats": -1,
                },
            )
            self.stdout.write(f"{'created' if created else 'updated'} schedule {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(SCHEDULES)} schedule(s) in place."))
