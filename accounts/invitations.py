"""Invitation links: a TimestampSigner signature over the invitation's code.

The signature's timestamp is the invitation's `sent_at`, so the link shown to the inviter
can be rebuilt at any time, and a resend (a new `sent_at`) retires the older links.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts.models import Invitation

SALT = "accounts.invitation"


class _SignedAt(signing.TimestampSigner):
    def __init__(self, at):
        super().__init__(salt=SALT)
        self.at = at

    def timestamp(self):
        return signing.b62_encode(int(self.at.timestamp()))


class InvalidLink(Exception):
    """The link cannot be used; the message says why and what to do."""

    def __init__(self, message, status=410, invitation=None):
        super().__init__(message)
        self.status = status
        self.invitation = invitation


def max_age():
    return timedelta(days=settings.INVITATION_MAX_AGE_DAYS)


def token_for(invitation):
    return _SignedAt(invitation.sent_at).sign(str(invitation.code))


def path_for(invitation):
    return reverse("invitation_accept", args=[token_for(invitation)])


def url_for(invitation):
    return settings.PUBLIC_BASE_URL + path_for(invitation)


def invitation_from_token(token):
    """The invitation this link stands for, or InvalidLink with a message a person can act on."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        code = signer.unsign(token, max_age=max_age())
    except signing.SignatureExpired:
        raise InvalidLink(
            "This invitation has expired. Ask the person who invited you to send a new one."
        ) from None
    except signing.BadSignature:
        raise InvalidLink(
            "This invitation link is not valid. Check that you copied the whole link.", 404
        ) from None
    invitation = (
        Invitation.objects.select_related("workspace", "invited_by").filter(code=code).first()
    )
    if invitation is None:
        raise InvalidLink("This invitation no longer exists.", 404)
    if invitation.revoked_at:
        raise InvalidLink(
            f"This invitation to {invitation.workspace.name} was withdrawn.", 410, invitation
        )
    if token != token_for(invitation):
        raise InvalidLink(
            "A newer invitation link was sent after this one. Use the link in the latest email.",
            410,
            invitation,
        )
    if invitation.accepted_at is None and invitation.is_expired:
        raise InvalidLink(
            "This invitation has expired. Ask the person who invited you to send a new one.",
            410,
            invitation,
        )
    return invitation
