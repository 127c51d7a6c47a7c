"""Fault injection: `[sandbox:<fault>]` in a title, style or prompt, or SANDBOX_FAULTS for all.

Submit faults answer the submit request itself; generation faults fail the task in the
worker with the provider's failure callback; delivery faults change how callbacks arrive.
Cover-art tasks take their parent's markers prefixed with `art-` ([sandbox:art-501]), plus
SANDBOX_FAULTS.
"""

import re

from django.conf import settings

SUBMIT = {"down", "429", "455", "402", "451"}
GENERATION = {"400", "408", "413", "500", "501", "531"}
DELIVERY = {"duplicate", "out-of-order", "lost", "slow"}
KNOWN = SUBMIT | GENERATION | DELIVERY

MARKER = re.compile(r"\[sandbox:([a-z0-9\-]+)\]", re.I)

MESSAGES = {
    "400": "Lyrics contained copyrighted material.",
    "408": "Timeout.",
    "413": "Uploaded audio matches existing work of art.",
    "451": "File fetch failed: the source audio could not be downloaded.",
    "500": "Internal error. Please try again later.",
    "501": "Audio generation failed.",
    "531": "Sorry, the generation failed due to an issue. Your credits have been refunded. "
           "Please try again.",
}


def from_settings():
    return [f.lower() for f in getattr(settings, "SANDBOX_FAULTS", []) if f.lower() in KNOWN]


def parse(text, *, prefix=""):
    """The known faults marked in `text` (those starting with `prefix`, prefix removed)."""
    found = []
    for marker in MARKER.findall(text or ""):
        marker = marker.lower()
        if prefix:
            if not marker.startswith(prefix):
                continue
            marker = marker[len(prefix):]
        elif marker.startswith("art-"):
            continue
        if marker in KNOWN and marker not in found:
            found.append(marker)
    return found


def for_request(text, *, prefix=""):
    return sorted(set(parse(text, prefix=prefix)) | set(from_settings()))


def generation_failure(faults):
    """The first generation fault as (code, message), or None."""
    for fault in faults:
        if fault in GENERATION:
            return fault, MESSAGES[fault]
    return None
