"""The deployment's providers, built from settings (`PAYMENT_PROVIDERS`, `PAYMENT_HTTP`).

Keys live in files the settings name; they are read once per configuration and the provider is
cached. A provider missing a required setting raises `ProviderNotConfigured` naming the
environment variable to set (never a key's content).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from linli.billing.providers.alipay import AlipayProvider
from linli.billing.providers.base import PaymentProvider
from linli.billing.providers.wechatpay import WechatPayProvider

# Setting key → the environment variable that fills it (docs/payments.md).
ENV_NAMES = {
    "wechatpay": {
        "mchid": "LINLI_WECHATPAY_MCHID",
        "appid": "LINLI_WECHATPAY_APPID",
        "merchant_serial_no": "LINLI_WECHATPAY_MERCHANT_SERIAL_NO",
        "merchant_private_key_file": "LINLI_WECHATPAY_MERCHANT_PRIVATE_KEY_FILE",
        "api_v3_key_file": "LINLI_WECHATPAY_API_V3_KEY_FILE",
        "platform_public_keys": "LINLI_WECHATPAY_PLATFORM_PUBLIC_KEYS",
        "base_url": "LINLI_WECHATPAY_BASE_URL",
    },
    "alipay": {
        "app_id": "LINLI_ALIPAY_APP_ID",
        "seller_id": "LINLI_ALIPAY_MERCHANT_ID",
        "app_private_key_file": "LINLI_ALIPAY_APP_PRIVATE_KEY_FILE",
        "alipay_public_key_file": "LINLI_ALIPAY_PUBLIC_KEY_FILE",
        "gateway": "LINLI_ALIPAY_GATEWAY",
    },
}

_cache: dict[tuple[str, str], PaymentProvider] = {}
_lock = threading.Lock()


class ProviderNotConfigured(ImproperlyConfigured):
    def __init__(self, provider: str, missing: str):
        super().__init__(f"payment provider {provider} is not configured: set {missing}")
        self.provider = provider
        self.missing = missing


def is_configured(name: str) -> bool:
    try:
        _options(name)
    except ProviderNotConfigured:
        return False
    return True


def configured(name: str) -> PaymentProvider:
    """The provider `name` ("wechatpay" | "alipay") as this deployment configures it."""
    options = _options(name)
    key = (name, repr(sorted(options.items())) + repr(sorted(_http().items())))
    with _lock:
        provider = _cache.get(key)
        if provider is None:
            provider = _build(name, options)
            if len(_cache) > 8:  # settings changed many times (tests): drop the old ones
                _cache.clear()
            _cache[key] = provider
    return provider


def _http() -> dict[str, Any]:
    return dict(getattr(settings, "PAYMENT_HTTP", {}) or {})


def _options(name: str) -> dict[str, Any]:
    if name not in ENV_NAMES:
        raise ProviderNotConfigured(name, "a supported provider name (wechatpay, alipay)")
    options = dict((getattr(settings, "PAYMENT_PROVIDERS", {}) or {}).get(name) or {})
    for field, env in ENV_NAMES[name].items():
        if not options.get(field):
            raise ProviderNotConfigured(name, env)
    return options


def _read(name: str, field: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        raise ProviderNotConfigured(name, f"{ENV_NAMES[name][field]} (the file it names cannot be read)") from None


def _build(name: str, options: dict[str, Any]) -> PaymentProvider:
    http = {k: v for k, v in _http().items() if k in ("timeout_s", "tries", "backoff_s")}
    if name == "wechatpay":
        keys = {}
        for pair in str(options["platform_public_keys"]).split(","):
            serial, sep, path = pair.strip().partition("=")
            if not sep or not serial or not path:
                raise ProviderNotConfigured(name, "LINLI_WECHATPAY_PLATFORM_PUBLIC_KEYS as serial=path,serial=path")
            keys[serial] = _read(name, "platform_public_keys", path)
        return WechatPayProvider(
            mchid=options["mchid"], appid=options["appid"], merchant_serial_no=options["merchant_serial_no"],
            merchant_private_key_pem=_read(name, "merchant_private_key_file", options["merchant_private_key_file"]),
            api_v3_key=_read(name, "api_v3_key_file", options["api_v3_key_file"]),
            platform_public_keys=keys, base_url=options["base_url"], **http)
    return AlipayProvider(
        app_id=options["app_id"], seller_id=options["seller_id"],
        app_private_key_pem=_read(name, "app_private_key_file", options["app_private_key_file"]),
        alipay_public_key_pem=_read(name, "alipay_public_key_file", options["alipay_public_key_file"]),
        gateway=options["gateway"], return_url=options.get("return_url") or "", **http)
