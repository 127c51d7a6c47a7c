from django.utils.functional import SimpleLazyObject

from accounts import notifications
from accounts.models import Membership
from covers.providers import registry
from covers.providers.catalog import PROVIDERS


def workspace(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = request.membership
    return {
        # Lazy: evaluated once, and only by pages that show them.
        "sandbox_providers": SimpleLazyObject(lambda: [
            PROVIDERS[key].label
            for key in registry.sandboxed_providers(membership.workspace if membership else None)
        ]),
        "unread_notifications": SimpleLazyObject(lambda: notifications.unread(user).count()),
        "current_membership": membership if membership else None,
        "current_workspace": membership.workspace if membership else None,
        "all_memberships": lambda: Membership.objects.filter(user=user)
        .select_related("workspace")
        .order_by("-workspace__personal", "workspace__name"),
    }
