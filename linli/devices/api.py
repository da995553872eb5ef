"""REST endpoints for the device registry (/api/devices/…)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, PageQuery, Payload, page, paged, patch_field
from linli.devices import selectors, services
from linli.devices.models import CredentialKind, DeviceKind, Lifecycle, OutageCause, Protocol
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


class DeviceIn(Payload):
    compound_id: Id
    device_type_id: Id
    serial: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=60)
    code: str = Field("", max_length=64, pattern=r"^[a-z0-9-]*$")
    building_id: Id | None = None
    unit_id: Id | None = None
    floor: int | None = Field(None, ge=-10, le=200)
    x_m: float | None = None
    y_m: float | None = None


class DevicePatch(Payload):
    name: str = patch_field(min_length=1, max_length=60)
    lifecycle: Lifecycle = patch_field()
    building_id: Id = patch_field()
    unit_id: Id = patch_field()
    floor: int | None = Field(None, ge=-10, le=200)
    x_m: float | None = None
    y_m: float | None = None


class DeviceFilter(Schema):
    compound_id: Id | None = None
    building_id: Id | None = None
    kind: DeviceKind | None = None
    lifecycle: Lifecycle | None = None
    online: bool | None = None
    q: str = ""


class CredentialIn(Payload):
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


class KindHealthOut(Schema):
    kind: DeviceKind
    total: int
    online: int
    online_rate: float | None


class DeviceBriefOut(Schema):
    id: int
    code: str
    name: str
    compound_id: int
    kind: DeviceKind = Field(alias="device_type.kind")
    last_seen_at: dt.datetime | None = Field(alias="state.last_seen_at")
    offline_since: dt.datetime | None = Field(alias="state.offline_since")


class DayUptimeOut(Schema):
    day: dt.date
    uptime: float | None = Field(description="share of device-time up (neither offline nor faulty); null without devices")
    device_hours: float
    down_hours: float


class DeviceHealthOut(Schema):
    compound_id: int | None
    total: int = Field(description="devices in service (not disabled)")
    online: int
    offline: int
    never_seen: int
    online_rate: float | None
    by_kind: list[KindHealthOut]
    offline_longest: list[DeviceBriefOut]
    battery_low_count: int
    tamper_count: int
    fault_count: int
    battery_low: list[DeviceBriefOut]
    tamper: list[DeviceBriefOut]
    fault: list[DeviceBriefOut]
    repairs: int = Field(description="outages closed in the period")
    mttr_s: float | None = Field(description="mean time to repair of those outages, seconds")
    period_uptime: float | None
    uptime: list[DayUptimeOut]


@router.get("/health", response={200: DeviceHealthOut, **ERRORS}, operation_id="get_device_health")
def get_device_health(request: HttpRequest, compound_id: Id | None = None):
    """Health of the sensing front end (感知前端运行状态监管) of one compound, or of every device the
    caller sees: online rate, devices offline longest, flags, mean time to repair, 30 days of uptime."""
    if compound_id is not None:
        places.compound(request.user, compound_id)  # 404 outside the caller's scope
    health = selectors.device_health(request.user, compound_id=compound_id)
    return {
        "compound_id": compound_id, "total": health.total, "online": health.online, "offline": health.offline,
        "never_seen": health.never_seen, "online_rate": health.online_rate,
        "by_kind": [{"kind": k.kind, "total": k.total, "online": k.online, "online_rate": k.online_rate}
                    for k in health.by_kind],
        "offline_longest": health.offline_longest,
        **{f"{flag}_count": health.flag_counts[flag] for flag in selectors.FLAGS},
        **health.flagged,
        "repairs": health.repairs, "mttr_s": health.mttr_s, "period_uptime": health.period_uptime,
        "uptime": [{"day": d.day, "uptime": d.uptime, "device_hours": round(d.device_s / 3600, 3),
                    "down_hours": round(d.down_s / 3600, 3)} for d in health.days],
    }


@router.get("/{device_id}", response={200: DeviceOut, **ERRORS}, operation_id="get_device")
def get_device(request: HttpRequest, device_id: Id):
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
def update_device(request: HttpRequest, device_id: Id, payload: DevicePatch):
    device = selectors.device(request.user, device_id)
    services.update_device(actor=request.user, device=device,
                           **_placement(request, payload.dict(exclude_unset=True)))
    return selectors.device(request.user, device_id)


@router.post("/{device_id}/credentials", response={201: CredentialOut, **ERRORS},
             operation_id="issue_device_credential")
def issue_device_credential(request: HttpRequest, device_id: Id, payload: CredentialIn):
    """A new HTTP token or MQTT password for the device (the old one stops working)."""
    device = selectors.device(request.user, device_id)
    secret = services.issue_credential(actor=request.user, device=device, kind=payload.kind)
    return Status(201, {"kind": payload.kind, "username": device.code, "secret": secret})


class OutageOut(Schema):
    id: int
    device_id: int
    compound_id: int
    cause: OutageCause
    started_at: dt.datetime
    ended_at: dt.datetime | None


@router.get("/{device_id}/outages", response={200: paged(OutageOut), **ERRORS}, operation_id="list_device_outages")
def list_device_outages(request: HttpRequest, device_id: Id, pg: Query[PageQuery]):
    """When the device was down (offline or faulty), newest first; an open outage has no end yet."""
    device = selectors.device(request.user, device_id)
    return page(selectors.outages(request.user, device_id=device.pk), pg)


# Commands ------------------------------------------------------------------------------------------

class CommandIn(Payload):
    name: str = Field(min_length=1, max_length=40)
    params: dict = {}
    ttl_s: int = Field(60, ge=1, le=24 * 3600)


class CommandOut(Schema):
    id: int
    device_id: int
    command_id: str
    name: str
    params: dict
    status: str
    issued_by: str
    created_at: dt.datetime
    expires_at: dt.datetime
    sent_at: dt.datetime | None
    acked_at: dt.datetime | None
    attempts: int
    detail: str


@router.post("/{device_id}/commands", response={201: CommandOut, **ERRORS}, operation_id="send_device_command")
def send_device_command(request: HttpRequest, device_id: Id, payload: CommandIn):
    """Queue a command (open the gate, play a message); the gateway sends it and the device's ack closes it."""
    device = selectors.device(request.user, device_id)
    return Status(201, services.send_command(actor=request.user, device=device, name=payload.name,
                                             params=payload.params, ttl_s=payload.ttl_s))


@router.get("/{device_id}/commands", response={200: paged(CommandOut), **ERRORS}, operation_id="list_device_commands")
def list_device_commands(request: HttpRequest, device_id: Id, pg: Query[PageQuery]):
    device = selectors.device(request.user, device_id)
    return page(selectors.commands(request.user, device_id=device.pk), pg)
