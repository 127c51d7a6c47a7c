import json

from django.contrib.messages import get_messages


class HtmxMessagesMiddleware:
    """On HTMX requests, hand queued messages to the page as an `HX-Trigger` event
    ("messages"), which static/js/app.js shows as toasts: a partial swap never re-renders
    the message area of base.html, so they would otherwise wait for the next full page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or "HX-Redirect" in response.headers:
            return response
        if 300 <= response.status_code < 400:
            return response
        items = [
            {"message": str(m), "tags": m.tags} for m in get_messages(request)
        ]
        if not items:
            return response
        trigger = response.headers.get("HX-Trigger")
        events = {}
        if trigger:
            try:
                events = json.loads(trigger)
            except ValueError:
                events = {name.strip(): None for name in trigger.split(",")}
        events["messages"] = items
        response.headers["HX-Trigger"] = json.dumps(events)
        return response
