"""Evidence media: written whole or not at all, read back only through the event's scope, in the
data dir or in an S3-compatible bucket (tested against a local endpoint that checks SigV4)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from linli.core.tests.apiclient import ApiClient
from linli.devices.adapters import alarm_info_plate
from linli.devices.adapters.base import EvidenceFile, PushRequest
from linli.devices.directory import DeviceRef
from linli.events import media
from linli.events.models import Event

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"
REF = "events/2026/03/01/0f8e2c7d9b4a4e5f8a6b7c8d9e0f1a2b.jpg"


# The data dir

def test_a_saved_picture_reads_back_and_leaves_no_temporary_file(disk_media):
    media.save(REF, JPEG)
    assert media.read(REF) == JPEG
    assert sorted(p.name for p in (disk_media / "events/2026/03/01").iterdir()) == [Path(REF).name]


def test_a_write_that_dies_midway_leaves_nothing_under_the_final_name(disk_media):
    def chunks():
        yield JPEG[:100]
        raise OSError("disk full")

    content = ContentFile(b"")
    content.chunks = chunks
    with pytest.raises(OSError, match="disk full"):
        media.media_storage()._save(REF, content)
    folder = disk_media / "events/2026/03/01"
    assert not (disk_media / REF).exists()
    assert list(folder.iterdir()) == []  # the temporary file went too


def test_a_crash_before_the_rename_leaves_only_a_temporary_file_never_the_reference(disk_media, monkeypatch):
    def power_cut(src, dst):
        raise KeyboardInterrupt  # stands in for the process dying between write and rename

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(KeyboardInterrupt):
        media.save(REF, JPEG)
    assert not (disk_media / REF).exists()


def test_references_cannot_leave_the_media_root(disk_media):
    for bad in ("../secret.jpg", "/etc/passwd", "events/../../x.jpg", ".part-x", "events\\x.jpg", "", "a//b"):
        with pytest.raises(ValueError):
            media.save(bad, JPEG)
        with pytest.raises(ValueError):
            media.stream(bad)


def test_deleting_removes_the_files_and_the_day_folders_they_emptied(disk_media):
    other = "events/2026/03/02/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.jpg"
    media.save(REF, JPEG)
    media.save(other, JPEG)
    assert media.delete([REF, "events/2026/03/01/never-written.jpg"]) == 1
    assert not (disk_media / "events/2026/03/01").exists()
    assert (disk_media / other).exists()
    assert [f.ref for f in media.listing("events")] == [other]
    assert media.folders("events/2026/03") == ["02"]
    with pytest.raises(media.MediaMissing):
        media.stream(REF)


def test_the_adapters_file_pictures_under_the_local_date_of_the_event():
    # The orphan sweep relies on it: a picture is looked up among the events dated its folder's day.
    camera = DeviceRef(id=7, code="cam", compound_id=3, type_code="t", kind="lpr_camera",
                       protocol="alarm_info_plate", life_safety=False, lifecycle="active", serial="S7")
    sec = 1646063999  # 2022-02-28 15:59:59 UTC = 23:59:59 in Shanghai: the same day either way
    for when in (sec, sec + 60):  # …and one minute later it is March 1st in Shanghai, still Feb 28 in UTC
        body = {"AlarmInfoPlate": {"result": {"PlateResult": {
            "license": "鲁B12345", "colorType": 1, "plateid": 1, "timeStamp": {"Timeval": {"sec": when}},
            "imageFile": "/9j/2Q=="}}}}
        parsed = alarm_info_plate.parse(PushRequest(json.dumps(body).encode(), {}, {}, camera,
                                                    dt.datetime.now(dt.UTC)))
        message, file = parsed.messages[0], parsed.files[0]
        local = message.at.astimezone(dt.timezone(dt.timedelta(hours=8)))
        assert file.relpath.startswith(f"events/{local:%Y/%m/%d}/")
        assert [(e["kind"], e["ref"]) for e in message.evidence] == [("image", file.relpath)]


# The evidence download

pytestmark_api = pytest.mark.urls("linli.core.tests.api_only_urls")


def _with_evidence(event: Event, *refs: str) -> Event:
    event.evidence = [{"kind": "image", "ref": ref} for ref in refs]
    Event.objects.filter(pk=event.pk).update(evidence=event.evidence)
    return event


@pytestmark_api
def test_staff_in_scope_download_the_picture_with_its_type(district, disk_media):
    event = _with_evidence(district.a.event, REF)
    media.save(REF, JPEG)
    response = ApiClient(district.a.users["guard"]).get(f"/api/events/{event.pk}/evidence/0")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Length"] == str(len(JPEG))
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content) == JPEG


@pytestmark_api
def test_the_picture_is_out_of_reach_where_the_event_is(district, disk_media):
    event = _with_evidence(district.a.event, REF)
    media.save(REF, JPEG)
    for user in (district.b.users["guard"], district.b.users["property_manager"], district.a.users["resident"],
                 district.a.users["cashier"]):
        response = ApiClient(user).get(f"/api/events/{event.pk}/evidence/0")
        assert response.status_code == 404, user.username
        assert response.json()["error"]["code"] == "not_found"
    assert ApiClient(district.city_admin).get(f"/api/events/{event.pk}/evidence/0").status_code == 200


@pytestmark_api
def test_a_missing_index_or_a_purged_file_is_a_404(district, disk_media):
    event = _with_evidence(district.a.event, REF, "events/2026/03/01/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.jpg")
    media.save(REF, JPEG)
    client = ApiClient(district.a.users["guard"])
    assert client.get(f"/api/events/{event.pk}/evidence/0").status_code == 200
    assert client.get(f"/api/events/{event.pk}/evidence/1").status_code == 404  # never stored / purged
    assert client.get(f"/api/events/{event.pk}/evidence/2").status_code == 404
    assert client.get(f"/api/events/{event.pk}/evidence/-1").status_code == 422  # the schema says index >= 0
    _with_evidence(event, "../../linli.sqlite3")
    assert client.get(f"/api/events/{event.pk}/evidence/0").status_code == 404


# S3-compatible object storage (a local endpoint that verifies every request's SigV4 signature)

def test_pictures_round_trip_through_the_bucket_with_signed_requests(s3_media):
    storage = media.media_storage()
    seen: list[tuple[str, str]] = []
    storage.client.meta.events.register(
        "before-send.s3", lambda request, **kw: seen.append((request.method, request.headers["Authorization"])))
    media.save(REF, JPEG)
    assert media.read(REF) == JPEG
    body, size = media.stream(REF)
    assert size == len(JPEG) and body.read() == JPEG
    assert [f.ref for f in media.listing("events")] == [REF]
    assert media.folders("events/2026") == ["03"]
    assert media.delete([REF]) == 1
    with pytest.raises(media.MediaMissing):
        media.stream(REF)
    methods = {method for method, _ in seen}
    assert {"PUT", "GET", "POST"} <= methods  # POST: DeleteObjects, many keys per request
    assert all(auth.decode() if isinstance(auth, bytes) else auth for _, auth in seen)
    assert all((auth.decode() if isinstance(auth, bytes) else auth).startswith("AWS4-HMAC-SHA256 Credential=")
               for _, auth in seen)


def test_the_bucket_refuses_a_wrong_secret(settings, s3_endpoint):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "linli.events.media.ObjectStorage", "OPTIONS": s3_endpoint.options(secret_key="not-the-secret")}}
    with pytest.raises(media.MediaUnavailable, match="SignatureDoesNotMatch"):
        media.save(REF, JPEG)


def test_an_unreachable_bucket_is_an_os_error_so_the_gateway_answers_503(settings, s3_endpoint):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "linli.events.media.ObjectStorage", "OPTIONS": s3_endpoint.options(endpoint_url="http://127.0.0.1:9")}}
    with pytest.raises(OSError):
        media.save(REF, JPEG)


def test_the_gateway_writes_evidence_into_the_bucket(s3_media):
    from linli.gateway.http import _write_files

    _write_files([EvidenceFile(REF, JPEG)])
    assert media.read(REF) == JPEG


@pytestmark_api
def test_the_download_streams_from_the_bucket(district, s3_media):
    event = _with_evidence(district.a.event, REF)
    media.save(REF, JPEG)
    response = ApiClient(district.a.users["guard"]).get(f"/api/events/{event.pk}/evidence/0")
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    assert ApiClient(district.b.users["guard"]).get(f"/api/events/{event.pk}/evidence/0").status_code == 404
