from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import notifications
from accounts.access import SESSION_KEY

PAGE = "accounts/notifications.html"
PAGE_SIZE = 50


def get_notification_for_user(request, code):
    """One of the user's own notifications: anyone else's, or a bad code, is a 404."""
    try:
        notification = notifications.for_user(request.user).filter(code=code).first()
    except (ValueError, ValidationError):
        notification = None
    if notification is None:
        raise Http404("No such notification.")
    return notification


def _context(request):
    return {"notifications": notifications.for_user(request.user)[:PAGE_SIZE]}


@login_required
@vary_on_headers("HX-Request")
def notification_list(request):
    template = f"{PAGE}#list" if request.htmx else PAGE
    return render(request, template, _context(request))


@login_required
@require_GET
def notification_badge(request):
    """The top bar's Notifications link with its unread count, for htmx to refresh."""
    return render(request, "base.html#notifications-link", {
        "unread_notifications": notifications.unread(request.user).count(),
    })


@login_required
@require_POST
@vary_on_headers("HX-Request")
def notification_read_all(request):
    notifications.mark_all_read(request.user)
    if request.htmx:
        return render(request, f"{PAGE}#list", _context(request))
    return redirect("notification_list")


@login_required
@require_POST
def notification_open(request, code):
    """Mark it read and go to its job, in the job's workspace."""
    notification = get_notification_for_user(request, code)
    notifications.mark_read(notification)
    if notification.job is None:
        return redirect("notification_list")
    request.session[SESSION_KEY] = str(notification.workspace.code)
    return redirect("job_detail", notification.job.code)
