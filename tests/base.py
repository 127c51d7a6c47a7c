"""The cast every test uses.

- alice: owns the team workspace "Alice's Band" (and her personal one);
- bob: a member of Alice's Band;
- charlie: an outsider, with only his personal workspace.
"""

from dataclasses import dataclass

from accounts import credits, services
from accounts.models import Membership, Role, User, Workspace

PASSWORD = "correct horse battery staple"


@dataclass
class Cast:
    alice: User
    bob: User
    charlie: User
    team: Workspace
    alice_personal: Workspace
    bob_personal: Workspace
    charlie_personal: Workspace

    def membership(self, user, workspace=None):
        return Membership.objects.get(user=user, workspace=workspace or self.team)


def personal_workspace(user):
    return Workspace.objects.get(memberships__user=user, personal=True)


def make_cast(team_credits=500):
    alice = services.sign_up("alice@example.org", PASSWORD)
    bob = services.sign_up("bob@example.org", PASSWORD)
    charlie = services.sign_up("charlie@example.org", PASSWORD)
    team = services.create_workspace(alice, "Alice's Band")
    Membership.objects.create(user=bob, workspace=team, role=Role.MEMBER)
    if team_credits:
        credits.grant(team, team_credits, note="Test credits")
    return Cast(
        alice=alice,
        bob=bob,
        charlie=charlie,
        team=team,
        alice_personal=personal_workspace(alice),
        bob_personal=personal_workspace(bob),
        charlie_personal=personal_workspace(charlie),
    )


def set_role(user, workspace, role):
    Membership.objects.filter(user=user, workspace=workspace).update(role=role)


def use_workspace(client, workspace):
    """Make `workspace` the client's current workspace."""
    session = client.session
    session["workspace_code"] = str(workspace.code)
    session.save()
