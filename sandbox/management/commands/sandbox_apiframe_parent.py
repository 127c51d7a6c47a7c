from django.core.management.base import BaseCommand

from sandbox.seed import apiframe_parent


class Command(BaseCommand):
    help = "Make a completed sandbox Apiframe job (two tracks) and print its id, to import."

    def add_arguments(self, parser):
        parser.add_argument("--title", default="Sandbox parent")
        parser.add_argument("--style", default="pop")

    def handle(self, *args, title, style, **options):
        task = apiframe_parent(title, style)
        self.stdout.write(task.task_id)
