"""A test client that speaks to the API with a bearer token, the way apps do."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from linli.accounts.services import issue_token


class ApiClient:
    def __init__(self, user: Any):
        _, raw = issue_token(user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def call(self, method: str, path: str, body: Any = None, **params: Any):
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        elif params and method == "get":
            kwargs = {"data": params}
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path: str, **params: Any):
        return self.call("get", path, **params)

    def post(self, path: str, body: Any = None):
        return self.call("post", path, body if body is not None else {})

    def patch(self, path: str, body: Any):
        return self.call("patch", path, body)

    def delete(self, path: str):
        return self.call("delete", path)
