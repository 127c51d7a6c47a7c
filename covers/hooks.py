"""Provider callbacks: verify, log, answer fast. A task applies the logged event.

The URL carries the job's unguessable callback token; an unknown token is a 404 and a forged
signature (Apiframe signs its webhooks) a 403, and neither writes anything.
"""

import logging

from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from covers import services
from covers.models import CoverJob, Provider
from covers.providers.base import ProviderError

log = logging.getLogger(__name__)

# Headers worth keeping with the raw body (signature checks are re-run when applying).
KEPT_HEADERS = ("content-type", "x-webhook-event", "x-webhook-signature",
                "x-webhook-timestamp", "user-agent")


@csrf_exempt
@require_POST
def provider_callback(request, provider, token):
    if provider not in Provider.values:
        raise Http404("Unknown provider.")
    job = CoverJob.objects.filter(provider=provider, callback_token=token).first()
    if job is None:
        raise Http404("Unknown callback.")
    headers = {k: v for k, v in request.headers.items() if k.lower() in KEPT_HEADERS}
    try:
        event, created = services.receive_callback(job, request.body, headers)
    except ProviderError as exc:
        log.warning("Refused a %s callback for job %s: %s", provider, job.pk, exc)
        if exc.code == "bad_signature" or "signature" in exc.message.lower():
            return JsonResponse({"ok": False, "error": "bad signature"}, status=403)
        return JsonResponse({"ok": False, "error": "unreadable"}, status=400)
    return JsonResponse({"ok": True, "duplicate": not created})
