"""Fixtures for the media tests: the data-dir store in a temporary folder, and a local S3 endpoint.

S3 is an external service (we ship no object store), so its tests run against moto's server, a
local S3-compatible endpoint, with request signing enforced: a wrong secret is refused exactly as
a real bucket would refuse it.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

import pytest


@pytest.fixture
def disk_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "linli.events.media.DiskStorage"}}
    return settings.MEDIA_ROOT


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str

    def options(self, **changes: str) -> dict:
        return {"bucket_name": self.bucket, "endpoint_url": self.url, "access_key": self.access_key,
                "secret_key": self.secret_key, "region_name": self.region, **changes}


def _moto(url: str, action: str, body: str = "") -> None:
    request = urllib.request.Request(f"{url}/moto-api/{action}", data=body.encode(), method="POST",  # noqa: S310
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 — our own local endpoint
        answer.read()


def _set_auth(url: str, count: str) -> None:
    # moto checks signatures once this many requests have been served; "0": from now on.
    _moto(url, "reset-auth", count)


@pytest.fixture(scope="module")
def s3_endpoint():
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    region = "us-east-1"
    admin = {"endpoint_url": url, "region_name": region, "aws_access_key_id": "bootstrap",
             "aws_secret_access_key": "bootstrap"}
    try:
        _set_auth(url, "inf")
        _moto(url, "reset")  # moto keeps its state per process, across server instances
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="linli-media")
        iam.put_user_policy(UserName="linli-media", PolicyName="media", PolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'))
        key = iam.create_access_key(UserName="linli-media")["AccessKey"]
        boto3.client("s3", **admin).create_bucket(Bucket="linli-media")
        _set_auth(url, "0")
        yield S3Endpoint(url, "linli-media", key["AccessKeyId"], key["SecretAccessKey"], region)
    finally:
        _set_auth(url, "inf")
        server.stop()


@pytest.fixture
def s3_media(settings, s3_endpoint):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "linli.events.media.ObjectStorage",
                                                          "OPTIONS": s3_endpoint.options()}}
    yield s3_endpoint
    from linli.events import media

    media.delete(item.ref for item in media.listing("events"))
