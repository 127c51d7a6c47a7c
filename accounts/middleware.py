from django.utils.functional import SimpleLazyObject

from accounts.access import current_membership


class CurrentWorkspaceMiddleware:
    """Sets `request.membership` (lazily): the user's membership of their current workspace."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: current_membership(request))
        return self.get_response(request)
