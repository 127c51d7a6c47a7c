"""Encryption at rest for the secrets people give us (their provider API keys).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived by HKDF from FIELD_ENCRYPTION_KEY, or
from SECRET_KEY when that is not set. SECRET_KEY_FALLBACKS (or FIELD_ENCRYPTION_KEY_FALLBACKS)
keep old tokens readable after a rotation; new tokens always use the current secret.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt"]

INFO = b"coverlab field encryption v1"


def _derive(secret):
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _fernet():
    if getattr(settings, "FIELD_ENCRYPTION_KEY", ""):
        secrets = [settings.FIELD_ENCRYPTION_KEY,
                   *getattr(settings, "FIELD_ENCRYPTION_KEY_FALLBACKS", [])]
    else:
        secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_derive(s) for s in secrets if s])


def encrypt(plaintext):
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token):
    """The plaintext; raises InvalidToken when no current or fallback secret opens it."""
    return _fernet().decrypt(token.encode("ascii")).decode()
