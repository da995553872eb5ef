"""Password authentication for staff accounts only; residents log in with phone and code."""

from django.contrib.auth.backends import ModelBackend

from linli.accounts.models import AccountKind


class StaffPasswordBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user.kind == AccountKind.STAFF


class ResidentCodeBackend(ModelBackend):
    """Keeps residents' sessions; the one-time code itself is checked by `verify_login_code`."""

    def authenticate(self, request, **credentials):
        return None

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user.kind == AccountKind.RESIDENT
