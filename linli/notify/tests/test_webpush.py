"""Web Push against a fake push service that checks the VAPID token with our public key and
decrypts the aes128gcm payload with the browser's private key (RFC 8291, written out here)."""

import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from linli.core.tests.apiclient import ApiClient
from linli.notify.dispatcher import dispatch_due
from linli.notify.models import Delivery, DeliveryStatus, PushSubscription
from linli.notify.services import Audience, notify
from linli.notify.tests.fakes import FakeService
from linli.notify.webpush import b64url, b64url_decode, vapid_public_key

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


class Browser:
    """The keys a browser makes when it subscribes."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                         serialization.PublicFormat.UncompressedPoint)
        self.auth = b"0123456789abcdef"

    def decrypt(self, body: bytes) -> bytes:
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        server_public = body[21:21 + idlen]
        ciphertext = body[21 + idlen:]
        assert rs >= 18 and len(ciphertext) <= rs
        shared = self.key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                                                           server_public))
        ikm = _hkdf(self.auth, shared, b"WebPush: info\x00" + self.public + server_public, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        unpadded = padded.rstrip(b"\x00")
        assert unpadded.endswith(b"\x02"), "last record delimiter"
        return unpadded[:-1]


def _hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


class PushServiceFake:
    def __init__(self, browser: Browser, statuses: list[int]):
        self.browser = browser
        self.statuses = statuses  # answered in turn; 201 when empty
        self.payloads: list[dict] = []
        self.origin = ""

    def __call__(self, seen):
        scheme, params = seen.headers["authorization"].split(" ", 1)
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        assert scheme == "vapid" and parts["k"] == vapid_public_key()
        header, claims, signature = parts["t"].split(".")
        raw = b64url_decode(signature)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(parts["k"]))
        public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                      f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises when forged
        claims = json.loads(b64url_decode(claims))
        assert json.loads(b64url_decode(header))["alg"] == "ES256"
        assert claims["aud"] == self.origin and claims["sub"].startswith("mailto:")
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600
        assert seen.headers["content-encoding"] == "aes128gcm" and int(seen.headers["ttl"]) > 0
        self.urgency = seen.headers.get("urgency")
        self.payloads.append(json.loads(self.browser.decrypt(seen.body)))
        status = self.statuses.pop(0) if self.statuses else 201
        return status, {"Location": f"{self.origin}/m/{len(self.payloads)}"}, b""


@pytest.fixture
def push_service(settings):
    settings.NOTIFY_WEBPUSH_ALLOW_HTTP = True
    browser = Browser()
    fake = PushServiceFake(browser, [])
    with FakeService(fake) as service:
        fake.origin = service.url
        fake.endpoint = f"{service.url}/push/abc"
        yield fake


def _subscribe(user, fake):
    api = ApiClient(user)
    response = api.post("/api/notifications/webpush/subscriptions", {
        "endpoint": fake.endpoint, "keys": {"p256dh": b64url(fake.browser.public), "auth": b64url(fake.browser.auth)}})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _fire(district):
    a = district.a
    return notify(compound_id=a.compound.pk, audience=Audience(roles=("guard",)), title="烟感报警",
                  body="3号楼2单元", severity="critical", life_safety=True, link="/alarms/1")


def test_the_browser_gets_the_alarm_encrypted_for_it_and_signed_by_us(district, push_service):
    guard = district.a.users["guard"]
    api = ApiClient(guard)
    assert api.get("/api/notifications/webpush/key").json() == {"public_key": vapid_public_key()}
    _subscribe(guard, push_service)
    n = _fire(district)
    dispatch_due()
    delivery = Delivery.objects.get(notification=n, channel="webpush")
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id == f"{push_service.origin}/m/1"
    assert push_service.payloads[0]["title"] == "烟感报警" and push_service.payloads[0]["life_safety"] is True
    assert push_service.urgency == "high"
    assert PushSubscription.objects.get(user=guard).last_ok_at is not None


def test_a_server_error_is_retried_and_a_gone_subscription_forgotten(district, push_service):
    guard = district.a.users["guard"]
    _subscribe(guard, push_service)
    push_service.statuses = [503]
    n = _fire(district)
    dispatch_due()
    delivery = Delivery.objects.get(notification=n, channel="webpush")
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == "webpush_http_503"
    dispatch_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2

    push_service.statuses = [410]
    gone = _fire(district)
    dispatch_due()
    delivery = Delivery.objects.get(notification=gone, channel="webpush")
    assert delivery.status == DeliveryStatus.DEAD and delivery.last_error == "webpush_http_410"
    assert not PushSubscription.objects.filter(user=guard).exists()


def test_subscriptions_are_checked_and_belong_to_their_owner(district, push_service, settings):
    guard, other = district.a.users["guard"], district.b.users["guard"]
    api = ApiClient(guard)
    keys = {"p256dh": b64url(push_service.browser.public), "auth": b64url(push_service.browser.auth)}
    bad = api.post("/api/notifications/webpush/subscriptions", {"endpoint": push_service.endpoint,
                                                                "keys": {**keys, "p256dh": "A" * 87}})
    assert bad.status_code == 422 and "keys" in bad.json()["error"]["fields"]
    settings.NOTIFY_WEBPUSH_ALLOW_HTTP = False
    plain = api.post("/api/notifications/webpush/subscriptions", {"endpoint": push_service.endpoint, "keys": keys})
    assert plain.status_code == 422 and "endpoint" in plain.json()["error"]["fields"]
    settings.NOTIFY_WEBPUSH_ALLOW_HTTP = True
    subscription_id = _subscribe(guard, push_service)
    assert ApiClient(other).delete(f"/api/notifications/webpush/subscriptions/{subscription_id}").status_code == 404
    assert api.delete(f"/api/notifications/webpush/subscriptions/{subscription_id}").status_code == 204
    assert not PushSubscription.objects.exists()
