from django.core.management.base import BaseCommand

from accounts import credits
from accounts.models import Workspace


class Command(BaseCommand):
    help = "Report every workspace whose balance is not the sum of its ledger; exit 1 if any."

    def handle(self, *args, **options):
        rows = credits.disagreements()
        total = Workspace.objects.count()
        if not rows:
            self.stdout.write(f"All {total} workspaces reconcile.")
            return
        self.stdout.write(f"{len(rows)} of {total} workspaces disagree with their ledger:")
        for workspace, balance, ledger in rows:
            self.stdout.write(
                f"  {workspace.code}  {workspace.name}: balance {balance}, ledger {ledger}, "
                f"difference {balance - ledger:+d}"
            )
        raise SystemExit(1)
