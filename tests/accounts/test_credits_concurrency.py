"""Many threads spending from one workspace at once, on a real PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from accounts import credits
from accounts.models import CreditEntry, EntryKind, Membership, Workspace
from tests.base import make_cast

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs DATABASE_URL on PostgreSQL"
    ),
]

THREADS = 16
ATTEMPTS = 80


def _run_holds(workspace_id, member_id, amount, prefix):
    def attempt(i):
        try:
            ws = Workspace.objects.get(pk=workspace_id)
            member = ws.memberships.get(user_id=member_id).user
            credits.hold(ws, amount, member=member, idempotency_key=f"{prefix}-{i}")
            return "held"
        except credits.CreditError:
            return "refused"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(attempt, range(ATTEMPTS)))


def test_concurrent_holds_never_overspend():
    cast = make_cast(team_credits=0)
    credits.grant(cast.team, 100)  # 100 credits, 80 attempts of 7: only 14 can succeed
    results = _run_holds(cast.team.pk, cast.bob.pk, 7, "hold")

    cast.team.refresh_from_db()
    holds = CreditEntry.objects.filter(workspace=cast.team, kind=EntryKind.HOLD)
    assert results.count("held") == 14 == holds.count()
    assert cast.team.credit_balance == 100 - 14 * 7 == 2
    assert credits.ledger_sum(cast.team) == cast.team.credit_balance
    assert credits.disagreements() == []


def test_concurrent_holds_respect_a_member_cap():
    cast = make_cast(team_credits=1000)
    Membership.objects.filter(user=cast.bob, workspace=cast.team).update(monthly_cap=50)
    results = _run_holds(cast.team.pk, cast.bob.pk, 5, "cap")

    cast.team.refresh_from_db()
    assert results.count("held") == 10
    assert credits.member_spend_this_month(cast.team, cast.bob) == 50
    assert cast.team.credit_balance == 950
    assert credits.ledger_sum(cast.team) == cast.team.credit_balance


def test_concurrent_releases_of_one_hold_pay_back_once():
    cast = make_cast(team_credits=100)
    hold = credits.hold(cast.team, 40, member=cast.bob, idempotency_key="once")

    def release(_):
        try:
            return credits.release(CreditEntry.objects.get(pk=hold.pk))[1]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        created = list(pool.map(release, range(40)))

    cast.team.refresh_from_db()
    assert created.count(True) == 1
    assert cast.team.credit_balance == 100
    assert credits.ledger_sum(cast.team) == 100
