import pytest
from django.test import Client

from linli.web.views.auth import backend_for


@pytest.fixture
def client_for():
    """A logged-in test client for `user` (sessions without the password round trip)."""

    def make(user):
        backend = backend_for(user)
        if backend is None:
            pytest.skip("resident sessions need linli.accounts.backends.ResidentCodeBackend in settings")
        client = Client()
        client.force_login(user, backend=backend)
        return client

    return make
