"""WeChat mini-program subscribe messages (订阅消息) and the openid binding behind them.

- `cgi-bin/token` gives an access token (about 2 h); it is cached per process until shortly
  before it expires, and fetched again at once when WeChat says it is invalid or expired
  (errcode 40001, 40014, 42001), with the send retried once.
- `cgi-bin/message/subscribe/send` sends a template message to an openid.
- `sns/jscode2session` turns a mini-program login code into the user's openid (binding).
`WECHAT["api_base"]` points tests at a local fake.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

log = logging.getLogger("linli.notify.wechat")

TOKEN_ERRORS = {40001, 40014, 42001}
# "Busy, try later" and rate limits; anything else (refused subscription 43101, bad template
# 40037, bad openid 40003, bad data 47003) will not improve by retrying.
RETRY_ERRORS = {-1, 45009, 45011}
_EARLY_S = 300  # renew this long before WeChat's stated expiry


class WechatError(Exception):
    def __init__(self, errcode: int, retry: bool = False):
        super().__init__(f"wechat:{errcode}")
        self.errcode = errcode
        self.retry = retry


class WechatClient:
    _lock = threading.Lock()
    _token: tuple[str, float] | None = None  # (token, renew at monotonic time), shared per process

    def __init__(self, conf: dict[str, Any] | None = None):
        self.conf = conf or settings.WECHAT

    def _call(self, path: str, query: dict[str, str], body: dict | None = None) -> dict[str, Any]:
        url = f"{self.conf['api_base'].rstrip('/')}/{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",  # noqa: S310
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=settings.NOTIFY_SEND_TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise WechatError(exc.code, retry=exc.code >= 500 or exc.code == 429) from None
        except (OSError, ValueError):
            raise WechatError(-1, retry=True) from None
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            raise WechatError(-1, retry=True) from None
        code = int(answer.get("errcode", 0) or 0)
        if code:
            raise WechatError(code, retry=code in RETRY_ERRORS)
        return answer

    def access_token(self, *, fresh: bool = False) -> str:
        with self._lock:
            cached = WechatClient._token
            if cached and not fresh and time.monotonic() < cached[1]:
                return cached[0]
            answer = self._call("cgi-bin/token", {"grant_type": "client_credential", "appid": self.conf["app_id"],
                                                  "secret": self.conf["app_secret"]})
            lifetime = int(answer.get("expires_in", 7200))
            WechatClient._token = (answer["access_token"], time.monotonic() + max(60, lifetime - _EARLY_S))
            return WechatClient._token[0]

    @classmethod
    def forget_token(cls) -> None:
        with cls._lock:
            cls._token = None

    def send_subscribe(self, *, openid: str, data: dict[str, str], page: str = "") -> str:
        """Send the configured template to `openid`; returns WeChat's msgid."""
        body: dict[str, Any] = {"touser": openid, "template_id": self.conf["template_id"],
                                "data": {k: {"value": v} for k, v in data.items()},
                                "miniprogram_state": self.conf["state"], "lang": "zh_CN"}
        if page:
            body["page"] = page
        for attempt in (1, 2):
            token = self.access_token(fresh=attempt == 2)
            try:
                answer = self._call("cgi-bin/message/subscribe/send", {"access_token": token}, body)
            except WechatError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    continue
                raise
            return str(answer.get("msgid", ""))
        raise WechatError(42001, retry=True)  # pragma: no cover - the loop returns or raises

    def openid_for_code(self, code: str) -> str:
        answer = self._call("sns/jscode2session", {"appid": self.conf["app_id"], "secret": self.conf["app_secret"],
                                                   "js_code": code, "grant_type": "authorization_code"})
        openid = str(answer.get("openid", ""))
        if not openid:
            raise WechatError(40029)
        return openid


def wechat_client() -> WechatClient:
    return WechatClient()


# How long each kind of template value may be (WeChat refuses longer values with 47003).
_LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "name": 10, "time": 32, "date": 32}


def template_data(fields: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """Map Linli's values (title, body, severity, time, category) onto the template's keys,
    e.g. fields {"title": "thing1", "time": "time2"} → {"thing1": "…", "time2": "…"}."""
    out = {}
    for name, key in fields.items():
        kind = key.rstrip("0123456789")
        out[key] = values.get(name, "")[: _LIMITS.get(kind, 20)]
    return out
