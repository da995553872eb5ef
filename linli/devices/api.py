"""REST endpoints for the device registry (/api/devices/…)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, PageQuery, page, paged
from linli.devices import selectors, services
from linli.devices.models import CredentialKind, DeviceKind, Lifecycle, Protocol
from linli.places import selectors as places

router = Router(tags=["devices"])


class DeviceTypeOut(Schema):
    id: int
    code: str
    kind: DeviceKind
    name: str
    vendor: str
    protocol: Protocol
    capabilities: list[str]
    heartbeat_s: int
    life_safety: bool


class DeviceStateOut(Schema):
    online: bool
    last_seen_at: dt.datetime | None
    offline_since: dt.datetime | None
    battery_low: bool
    tamper: bool
    fault: bool


class DeviceOut(Schema):
    id: int
    code: str
    name: str
    serial: str
    compound_id: int
    building_id: int | None
    unit_id: int | None
    floor: int | None
    device_type_id: int
    kind: DeviceKind = Field(alias="device_type.kind")
    lifecycle: Lifecycle
    x_m: float | None
    y_m: float | None
    state: DeviceStateOut | None


class DeviceIn(Schema):
    compound_id: int
    device_type_id: int
    serial: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=60)
    code: str = Field("", max_length=64, pattern=r"^[a-z0-9-]*$")
    building_id: int | None = None
    unit_id: int | None = None
    floor: int | None = Field(None, ge=-10, le=200)
    x_m: float | None = None
    y_m: float | None = None


class DevicePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=60)
    lifecycle: Lifecycle | None = None
    building_id: int | None = None
    unit_id: int | None = None
    floor: int | None = Field(None, ge=-10, le=200)
    x_m: float | None = None
    y_m: float | None = None


class DeviceFilter(Schema):
    compound_id: int | None = None
    building_id: int | None = None
    kind: DeviceKind | None = None
    lifecycle: Lifecycle | None = None
    online: bool | None = None
    q: str = ""


class CredentialIn(Schema):
    kind: CredentialKind


class CredentialOut(Schema):
    kind: CredentialKind
    username: str
    secret: str = Field(description="shown once; only its hash is kept")


@router.get("/types", response={200: paged(DeviceTypeOut), **ERRORS}, operation_id="list_device_types")
def list_device_types(request: HttpRequest, pg: Query[PageQuery], kind: DeviceKind | None = None):
    return page(selectors.device_types(request.user, kind=kind or ""), pg)


@router.get("", response={200: paged(DeviceOut), **ERRORS}, operation_id="list_devices")
def list_devices(request: HttpRequest, filters: Query[DeviceFilter], pg: Query[PageQuery]):
    f = filters.dict()
    f["kind"], f["lifecycle"] = f["kind"] or "", f["lifecycle"] or ""
    return page(selectors.devices(request.user, **f), pg)


@router.get("/{device_id}", response={200: DeviceOut, **ERRORS}, operation_id="get_device")
def get_device(request: HttpRequest, device_id: int):
    return selectors.device(request.user, device_id)


def _placement(request: HttpRequest, data: dict) -> dict:
    building_id, unit_id = data.pop("building_id", None), data.pop("unit_id", None)
    if building_id is not None:
        data["building"] = places.building(request.user, building_id)
    if unit_id is not None:
        data["unit"] = places.unit(request.user, unit_id)
    return data


@router.post("", response={201: DeviceOut, **ERRORS}, operation_id="register_device")
def register_device(request: HttpRequest, payload: DeviceIn):
    data = payload.dict()
    compound = places.compound(request.user, data.pop("compound_id"))
    device_type = selectors.device_type(request.user, data.pop("device_type_id"))
    device = services.register_device(actor=request.user, compound=compound, device_type=device_type,
                                      **_placement(request, data))
    return Status(201, selectors.device(request.user, device.pk))


@router.patch("/{device_id}", response={200: DeviceOut, **ERRORS}, operation_id="update_device")
def update_device(request: HttpRequest, device_id: int, payload: DevicePatch):
    device = selectors.device(request.user, device_id)
    services.update_device(actor=request.user, device=device,
                           **_placement(request, payload.dict(exclude_unset=True)))
    return selectors.device(request.user, device_id)


@router.post("/{device_id}/credentials", response={201: CredentialOut, **ERRORS},
             operation_id="issue_device_credential")
def issue_device_credential(request: HttpRequest, device_id: int, payload: CredentialIn):
    """A new HTTP token or MQTT password for the device (the old one stops working)."""
    device = selectors.device(request.user, device_id)
    secret = services.issue_credential(actor=request.user, device=device, kind=payload.kind)
    return Status(201, {"kind": payload.kind, "username": device.code, "secret": secret})
