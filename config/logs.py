"""Logs without secrets. Some URLs carry a bearer token: the provider callback URL, the signed
file URL a provider downloads, the job-status poll grant, invitation and password-reset links.
Access logs (runserver's here, gunicorn's in config/gunicorn_logging.py) print them with the
token replaced by [redacted]."""

import logging
import re

REDACTED = "[redacted]"
# The path segment that is the token, after these prefixes.
_SECRET_SEGMENT = re.compile(
    r"(/(?:hooks/[^/\s?]+|files|invitations|accounts/reset/[^/\s?]+)/)(?!set-password/)"
    r"[^/\s?\"]+"
)
# Query parameters that carry a token or a signature (S3 presigned URLs included).
_SECRET_PARAM = re.compile(
    r"([?&](?:t|token|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)"
    r"[^&\s\"]+",
    re.IGNORECASE,
)


def redact(text):
    """`text` with every URL token in it replaced by [redacted]."""
    text = _SECRET_SEGMENT.sub(rf"\g<1>{REDACTED}", text)
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)


class RedactTokens(logging.Filter):
    """Redacts URL tokens in a log record's message and string arguments."""

    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True
