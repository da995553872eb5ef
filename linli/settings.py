"""Django settings. Everything a deployment changes comes from environment variables."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from linli.config import data_dir, kept_secret

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

SECRET_KEY = kept_secret("secret_key", "SECRET_KEY", 48)
FIELD_ENCRYPTION_KEY = kept_secret("field_key", "LINLI_FIELD_KEY", 32)
DEBUG = os.environ.get("LINLI_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("LINLI_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("LINLI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "js_lib_htmx",
    "ninja",
    "linli.core",
    "linli.places",
    "linli.people",
    "linli.accounts",
    "linli.devices",
    "linli.events",
    "linli.alarms",
    "linli.automations",
    "linli.notify",
    "linli.billing",
    "linli.workorders",
    "linli.votes",
    "linli.parcels",
    "linli.visitors",
    "linli.notices",
    "linli.rentals",
    "linli.surveys",
    "linli.exchange",
    "linli.portal",
    "linli.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "linli.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "linli.urls"
ASGI_APPLICATION = "linli.asgi.application"
WSGI_APPLICATION = "linli.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "linli.web.context.navigation",
            ],
        },
    }
]

_default_db = f"sqlite:///{DATA_DIR / 'linli.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the writer; FULL keeps committed writes across power loss.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Parallel test runs (several checkouts, CI's two database passes) must not share a test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_linli_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "linli.accounts.backends.StaffPasswordBackend",
    "linli.accounts.backends.ResidentCodeBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_AGE = int(os.environ.get("LINLI_SESSION_SECONDS", 8 * 3600))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

REDIS_URL = os.environ.get("REDIS_URL", "")
MQTT_URL = os.environ.get("MQTT_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"

# Evidence media and event retention (docs/events.md). Media go to the data dir, or to an
# S3-compatible bucket when LINLI_S3_BUCKET is set; never served directly, only through the scoped API.
S3_BUCKET = os.environ.get("LINLI_S3_BUCKET", "")
if S3_BUCKET:
    _media_storage = {"BACKEND": "linli.events.media.ObjectStorage", "OPTIONS": {
        "bucket_name": S3_BUCKET,
        "endpoint_url": os.environ.get("LINLI_S3_ENDPOINT") or None,
        "access_key": os.environ.get("LINLI_S3_ACCESS_KEY") or None,
        "secret_key": os.environ.get("LINLI_S3_SECRET_KEY") or None,
        "region_name": os.environ.get("LINLI_S3_REGION") or None,
        "addressing_style": os.environ.get("LINLI_S3_ADDRESSING_STYLE", "path"),  # "virtual" for Aliyun OSS
    }}
else:
    _media_storage = {"BACKEND": "linli.events.media.DiskStorage"}  # follows MEDIA_ROOT
STORAGES = {"default": _media_storage,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Days to keep events, per type: JSON ({"parking.plate_read": 365}) or "type=days,type=days";
# "*" sets the default for types not listed. Merged over linli/events/retention.py's table.
EVENT_RETENTION_DAYS = os.environ.get("LINLI_EVENT_RETENTION_DAYS", "")
DEAD_LETTER_RETENTION_DAYS = int(os.environ.get("LINLI_DEAD_LETTER_RETENTION_DAYS", 30))
EVENT_PURGE_BATCH = int(os.environ.get("LINLI_EVENT_PURGE_BATCH", 5000))
# How long a gateway thread may hold the GIL while another waits (Python's default is 5 ms). The
# gate and life-safety lanes wait on the database between statements and then for the GIL: at
# 1 ms they get it back sooner from the bulk lane and the event loop (docs/benchmarks.md).
GATEWAY_SWITCH_INTERVAL_S = float(os.environ.get("LINLI_GATEWAY_SWITCH_INTERVAL_S", "0.001"))

# Staff lockout after repeated failed logins.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LINLI_LOGIN_FAILURE_LIMIT", 5))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LINLI_LOGIN_LOCKOUT_SECONDS", 900))
OTP_TTL_SECONDS = 300
OTP_PER_HOUR = int(os.environ.get("LINLI_OTP_PER_HOUR", 5))
LOGIN_PER_IP_PER_MINUTE = int(os.environ.get("LINLI_LOGIN_PER_IP_PER_MINUTE", 30))
SMS_PROVIDER = os.environ.get("LINLI_SMS_PROVIDER", "console")

# Notifications and the live feed (linli/notify; docs/notifications.md). The channel layer is
# in-process unless REDIS_URL is set; then every web process shares it through Redis.
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [REDIS_URL], "prefix": "linli:feed"}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
NOTIFY_CHANNELS = tuple(c for c in os.environ.get(
    "LINLI_NOTIFY_CHANNELS", "console_feed,inbox,webpush,sms,wechat").split(",") if c)
NOTIFY_BACKOFF_SECONDS = tuple(int(s) for s in os.environ.get("LINLI_NOTIFY_BACKOFF", "5,30,120,600,3600").split(","))
NOTIFY_POLL_SECONDS = float(os.environ.get("LINLI_NOTIFY_POLL_SECONDS", "0.5"))
NOTIFY_FEED_POLL_SECONDS = float(os.environ.get("LINLI_FEED_POLL_SECONDS", "0.25"))
NOTIFY_FEED_KEEP_SECONDS = int(os.environ.get("LINLI_FEED_KEEP_SECONDS", 3600))
NOTIFY_SEND_TIMEOUT_SECONDS = float(os.environ.get("LINLI_NOTIFY_SEND_TIMEOUT_SECONDS", "10"))
NOTIFY_LEASE_SECONDS = int(os.environ.get("LINLI_NOTIFY_LEASE_SECONDS", 120))
NOTIFY_SEND_THREADS = int(os.environ.get("LINLI_NOTIFY_SEND_THREADS", 8))
NOTIFY_WEBPUSH_ALLOW_HTTP = os.environ.get("LINLI_WEBPUSH_ALLOW_HTTP", "") == "1"
VAPID_SUBJECT = os.environ.get("LINLI_VAPID_SUBJECT", "mailto:admin@linli.invalid")
SMS_TEMPLATES = dict(pair.split("=", 1) for pair in os.environ.get("LINLI_SMS_TEMPLATES", "").split(",") if "=" in pair)
ALIYUN_SMS = {
    "access_key_id": os.environ.get("LINLI_ALIYUN_ACCESS_KEY_ID", ""),
    "access_key_secret": os.environ.get("LINLI_ALIYUN_ACCESS_KEY_SECRET", ""),
    "sign_name": os.environ.get("LINLI_ALIYUN_SMS_SIGN_NAME", ""),
    "region": os.environ.get("LINLI_ALIYUN_SMS_REGION", "cn-hangzhou"),
    "endpoint": os.environ.get("LINLI_ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/"),
}
WECHAT = {
    "app_id": os.environ.get("LINLI_WECHAT_APP_ID", ""),
    "app_secret": os.environ.get("LINLI_WECHAT_APP_SECRET", ""),
    "api_base": os.environ.get("LINLI_WECHAT_API_BASE", "https://api.weixin.qq.com"),
    "template_id": os.environ.get("LINLI_WECHAT_TEMPLATE_ID", ""),
    # Linli value → template key, e.g. "title=thing1,time=time2,body=thing3".
    "fields": dict(pair.split("=", 1) for pair in os.environ.get(
        "LINLI_WECHAT_TEMPLATE_FIELDS", "title=thing1,time=time2,body=thing3").split(",") if "=" in pair),
    "state": os.environ.get("LINLI_WECHAT_MINIPROGRAM_STATE", "formal"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "personal_data": {"()": "linli.core.logging.PersonalDataFilter"},
        "refusals_logged_once": {"()": "linli.core.middleware.DjangoRefusalFilter"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["personal_data"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LINLI_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 403 is logged once, at INFO, by linli.core.middleware; a 500 keeps its traceback here.
        "django.request": {"filters": ["refusals_logged_once"]},
    },
}

# Billing (linli/billing): our merchant id per online payment provider. A payment notice naming
# any other merchant is refused; an empty id refuses every notice from that provider.
BILLING_MERCHANTS = {
    "wechatpay": os.environ.get("LINLI_WECHATPAY_MCHID", ""),
    "alipay": os.environ.get("LINLI_ALIPAY_MERCHANT_ID", ""),
}
# Online payment providers (docs/payments.md). Keys are files named here, read when first used;
# a provider with an empty required entry is not offered (linli.billing.providers.configured).
PAYMENT_PROVIDERS = {
    "wechatpay": {
        "mchid": BILLING_MERCHANTS["wechatpay"],
        "appid": os.environ.get("LINLI_WECHATPAY_APPID", ""),
        "merchant_serial_no": os.environ.get("LINLI_WECHATPAY_MERCHANT_SERIAL_NO", ""),
        "merchant_private_key_file": os.environ.get("LINLI_WECHATPAY_MERCHANT_PRIVATE_KEY_FILE", ""),
        "api_v3_key_file": os.environ.get("LINLI_WECHATPAY_API_V3_KEY_FILE", ""),
        "platform_public_keys": os.environ.get("LINLI_WECHATPAY_PLATFORM_PUBLIC_KEYS", ""),  # serial=path,…
        "base_url": os.environ.get("LINLI_WECHATPAY_BASE_URL", "https://api.mch.weixin.qq.com"),
    },
    "alipay": {
        "app_id": os.environ.get("LINLI_ALIPAY_APP_ID", ""),
        "seller_id": BILLING_MERCHANTS["alipay"],
        "app_private_key_file": os.environ.get("LINLI_ALIPAY_APP_PRIVATE_KEY_FILE", ""),
        "alipay_public_key_file": os.environ.get("LINLI_ALIPAY_PUBLIC_KEY_FILE", ""),
        "gateway": os.environ.get("LINLI_ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do"),
        "return_url": os.environ.get("LINLI_ALIPAY_RETURN_URL", ""),
    },
}
PAYMENT_HTTP = {
    "timeout_s": float(os.environ.get("LINLI_PAYMENT_TIMEOUT_SECONDS", "10")),
    "tries": int(os.environ.get("LINLI_PAYMENT_TRIES", "3")),
    "backoff_s": float(os.environ.get("LINLI_PAYMENT_BACKOFF_SECONDS", "0.5")),
}
# The deployment's public base URL: providers post their notifications to <it>/pay/notify/<provider>/.
PAYMENT_NOTIFY_BASE_URL = os.environ.get("LINLI_PUBLIC_URL", "").rstrip("/")
