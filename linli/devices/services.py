"""Writes to the device registry: register, place, change lifecycle, issue and rotate credentials."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.devices import commands, credentials
from linli.devices.models import (
    CredentialKind,
    Device,
    DeviceCommand,
    DeviceCredential,
    DeviceState,
    DeviceType,
    Lifecycle,
)
from linli.places.models import Building, Compound, Unit


def _check_placement(compound: Compound, building: Building | None, unit: Unit | None,
                     floor: int | None) -> None:
    if building is not None and building.compound_id != compound.pk:
        raise field_error("building", _("楼栋不在该小区"))
    if unit is not None and (building is None or unit.building_id != building.pk):
        raise field_error("unit", _("单元不在该楼栋"))
    if floor is not None and building is not None and (
        floor == 0 or floor > building.floors_above or floor < -building.floors_below
    ):
        raise field_error("floor", _("楼层超出该楼栋的范围"))


@service
def register_device(*, actor: Any, compound: Compound, device_type: DeviceType, serial: str, name: str,
                    code: str = "", building: Building | None = None, unit: Unit | None = None,
                    floor: int | None = None, **fields: Any) -> Device:
    require_in_compound(actor, Device, "add", compound.pk)
    _check_placement(compound, building, unit, floor)
    code = code or slugify(f"{compound.code}-{device_type.code}-{serial}")[:64]
    device = Device(compound=compound, device_type=device_type, serial=serial.strip(), name=name.strip(),
                    code=code, building=building, unit=unit, floor=floor, **fields)
    save_new(device)
    DeviceState.objects.create(device=device)
    return device


@service
def update_device(*, actor: Any, device: Device, **changes: Any) -> Device:
    require(actor, device, "change")
    _check_placement(device.compound, changes.get("building", device.building), changes.get("unit", device.unit),
                     changes.get("floor", device.floor))
    if "lifecycle" in changes and changes["lifecycle"] not in Lifecycle.values:
        raise field_error("lifecycle", _("未知的设备状态"))
    return save_changes(device, changes)


@service
def issue_credential(*, actor: Any, device: Device, kind: str) -> str:
    """A new secret for `device` (shown once); the previous one of that kind stops working now."""
    require(actor, device, "change")
    if kind not in CredentialKind.values:
        raise field_error("kind", _("未知的凭据类型"))
    now = timezone.now()
    for old in DeviceCredential.objects.select_for_update().filter(device=device, kind=kind, revoked_at__isnull=True):
        save_changes(old, {"revoked_at": now})
    secret = credentials.new_secret()
    digest = credentials.token_digest(secret) if kind == CredentialKind.HTTP_TOKEN else credentials.mosquitto_hash(secret)
    save_new(DeviceCredential(device=device, kind=kind, secret_hash=digest))
    return secret


def device_for_http_token(token: str) -> Device | None:
    """The active device a push token belongs to (gateway hot path: one indexed lookup)."""
    cred = (DeviceCredential.objects.select_related("device", "device__device_type")
            .filter(kind=CredentialKind.HTTP_TOKEN, secret_hash=credentials.token_digest(token),
                    revoked_at__isnull=True).first())
    if cred is None or cred.device.lifecycle == Lifecycle.DISABLED:
        return None
    return cred.device


@service
def send_command(*, actor: Any, device: Device, name: str, params: dict[str, Any] | None = None,
                 ttl_s: int = commands.DEFAULT_TTL_S) -> DeviceCommand:
    """A person sends a command (a guard opens the gate or plays a warning from the console)."""
    require(actor, device, "command")
    return commands.queue(device, name, params, ttl_s=ttl_s, issued_by=f"user:{actor.pk}")
