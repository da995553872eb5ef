"""Work-order photos: a phone photo is stored upright, small and without its GPS position; only the
people who may report or work orders in a compound upload there, and only those who see an order
see its photos."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import ExifTags, Image

from linli.core.errors import Forbidden, NotFound
from linli.core.tests.apiclient import ApiClient
from linli.events import media
from linli.workorders import photos, selectors, services
from linli.workorders.tests.factories import category, leaking_pipe

pytestmark = pytest.mark.django_db


def phone_photo(size=(3000, 1000), fmt="JPEG", mode="RGB", gps=True) -> bytes:
    """A picture as a phone takes it: sideways (EXIF orientation 6) with the maker and GPS position."""
    image = Image.new(mode, size, "red")
    out = io.BytesIO()
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[ExifTags.Base.Orientation] = 6
        exif[ExifTags.Base.Make] = "PhoneMaker"
        if gps:
            exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (36.0, 4.0, 30.0), 3: "E", 4: (120.0, 1.0, 2.0)}
        image.save(out, fmt, exif=exif.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def stored():
    refs: list[str] = []
    yield refs
    media.delete(refs)


def test_a_phone_photo_is_kept_upright_shrunk_and_without_its_gps_position(district, stored):
    a = district.a
    original = phone_photo()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    ref = photos.store_photo(actor=a.users["resident"], compound_id=a.compound.pk, content=original,
                             filename="IMG_0001.jpg")
    stored.append(ref)
    assert ref.startswith(f"workorders/{a.compound.pk}/") and ref.endswith(".jpg") and "IMG" not in ref
    kept = media.read(ref)
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG"
    assert image.size == (683, 2048)  # turned upright (was 3000×1000 lying on its side), longest side 2048
    assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in kept and b"PhoneMaker" not in kept and "icc_profile" not in image.info


def test_png_and_webp_are_accepted_and_become_jpeg_while_other_files_are_refused(district, stored):
    a = district.a
    tech = a.users["technician"]
    for fmt, mode in (("PNG", "RGBA"), ("WEBP", "RGB")):
        ref = photos.store_photo(actor=tech, compound_id=a.compound.pk, content=phone_photo((40, 30), fmt, mode))
        stored.append(ref)
        image = Image.open(io.BytesIO(media.read(ref)))
        assert image.format == "JPEG" and image.size == (40, 30)
    for bad in (phone_photo((40, 30), "GIF", "P"), b"%PDF-1.4 not a photo", b"\xff\xd8\xff\xe0 truncated", b""):
        with pytest.raises(ValidationError) as refused:
            photos.store_photo(actor=tech, compound_id=a.compound.pk, content=bad)
        assert "photo" in refused.value.message_dict
    with pytest.raises(ValidationError, match="10MB"):
        photos.store_photo(actor=tech, compound_id=a.compound.pk, content=b"\xff" * (photos.MAX_UPLOAD_BYTES + 1))


def test_only_those_who_report_or_work_orders_in_the_compound_upload_there(district, stored):
    a, b = district.a, district.b
    with pytest.raises(NotFound):  # a resident of A cannot even see B
        photos.store_photo(actor=a.users["resident"], compound_id=b.compound.pk, content=phone_photo((20, 20)))
    with pytest.raises(NotFound):
        photos.store_photo(actor=a.users["technician"], compound_id=b.compound.pk, content=phone_photo((20, 20)))
    with pytest.raises(Forbidden):  # a cashier sees the compound but neither reports nor works orders
        photos.store_photo(actor=a.users["cashier"], compound_id=a.compound.pk, content=phone_photo((20, 20)))
    ref = photos.store_photo(actor=a.users["guard"], compound_id=a.compound.pk, content=phone_photo((20, 20)))
    stored.append(ref)


def test_a_resident_reports_with_photos_and_only_those_who_see_the_order_see_them(district, stored):
    a, b = district.a, district.b
    resident = ApiClient(a.users["resident"])
    cat = category(district)
    upload = resident.client.post("/api/workorders/photos", {"compound_id": a.compound.pk,
                                                             "file": _named(phone_photo((200, 100)), "leak.jpg")})
    assert upload.status_code == 201, upload.content
    ref = upload.json()["ref"]
    stored.append(ref)
    report = resident.post("/api/workorders", {"compound_id": a.compound.pk, "category_id": cat.pk,
                                               "title": "厨房漏水", "house_id": a.house.pk, "photos": [ref]})
    assert report.status_code == 201, report.content
    order_id = report.json()["id"]
    assert report.json()["report_photos"] == [ref] and report.json()["steps"][0]["photos"] == [ref]
    seen = resident.get(f"/api/workorders/{order_id}/photos/report/0")
    assert seen.status_code == 200 and seen["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(seen.content)).size == (100, 200)
    assert ApiClient(a.users["technician"]).get(f"/api/workorders/{order_id}/photos/report/0").status_code == 200
    assert resident.get(f"/api/workorders/{order_id}/photos/report/1").status_code == 404
    assert resident.get(f"/api/workorders/{order_id}/photos/completion/0").status_code == 404
    for outsider in (b.users["property_manager"], b.users["resident"]):
        assert ApiClient(outsider).get(f"/api/workorders/{order_id}/photos/report/0").status_code == 404
    with pytest.raises(NotFound):
        selectors.photo_content(b.users["technician"], order_id, 0, "report")


def test_an_order_may_not_name_another_compounds_photo(district, stored):
    a, b = district.a, district.b
    foreign = photos.store_photo(actor=b.users["resident"], compound_id=b.compound.pk, content=phone_photo((20, 20)))
    stored.append(foreign)
    with pytest.raises(ValidationError, match="照片引用无效"):
        leaking_pipe(district, category(district), photos=[foreign])
    too_many = [photos.store_photo(actor=a.users["resident"], compound_id=a.compound.pk,
                                   content=phone_photo((20, 20))) for _ in range(services.MAX_PHOTOS + 1)]
    stored.extend(too_many)
    with pytest.raises(ValidationError, match="照片不能超过"):
        leaking_pipe(district, category(district, code="other"), photos=too_many)


def test_a_photo_upload_over_ten_megabytes_is_refused_naming_the_field(district):
    a = district.a
    big = _named(b"\xff" * (photos.MAX_UPLOAD_BYTES + 1), "big.jpg")
    answer = ApiClient(a.users["resident"]).client.post("/api/workorders/photos",
                                                        {"compound_id": a.compound.pk, "file": big})
    assert answer.status_code == 422 and "photo" in answer.json()["error"]["fields"]


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer
