from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import credits
from accounts.models import Workspace


class Command(BaseCommand):
    help = "Grant credits to a workspace (a negative amount is an adjustment down)."

    def add_arguments(self, parser):
        parser.add_argument("workspace", help="the workspace's code (a UUID)")
        parser.add_argument("amount", type=int, help="credits; negative takes credits away")
        parser.add_argument("--reason", required=True, help="why, for the ledger and audit log")

    def handle(self, *args, workspace, amount, reason, **options):
        try:
            ws = Workspace.objects.get(code=workspace)
        except (Workspace.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No workspace has the code {workspace!r}.") from None
        if not reason.strip():
            raise CommandError("Give a reason with --reason.")
        try:
            if amount > 0:
                entry = credits.grant(ws, amount, note=reason.strip())
            else:
                entry = credits.adjust(ws, amount, actor=None, reason=reason)
        except credits.CreditError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{entry.get_kind_display()} of {amount:+d} credits to {ws.name} ({ws.code}); "
            f"balance now {entry.balance_after}."
        )
