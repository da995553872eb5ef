"""Device commands (open the gate, play a loudspeaker message, hold the elevator door).

A command is a row first (`queue`), so nothing is lost when the gateway restarts; the
gateway's sender publishes pending rows on the device's down topic and the device's ack,
stored as a `device.command_ack` event, closes the row by `command_id`. A command is never
sent after `expires_at`: a gate opened three minutes late is worse than one not opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import wakeup
from linli.core.services import field_error, save_new
from linli.devices.models import CommandStatus, Device, DeviceCommand, Lifecycle, Protocol
from linli.events import types

log = logging.getLogger("linli.devices.commands")

DEFAULT_TTL_S = 60
MAX_TTL_S = 24 * 3600
MAX_ATTEMPTS = 5
# Protocols with a down channel Linli drives today; HTTP-push devices get theirs in the answer
# to their own push (AlarmInfoPlate) and are handled by the decision hook, not here.
DOWNLINK = {Protocol.LINLI_MQTT}

_wake = threading.Event()
WAKEUP = "commands"


def queue(device: Device, name: str, params: dict[str, Any] | None = None, *, ttl_s: int = DEFAULT_TTL_S,
          issued_by: str = "") -> DeviceCommand:
    """Queue a command for the gateway (system callers: rules; people go through `send`)."""
    if name not in (device.device_type.capabilities or []):
        raise field_error("name", _("该设备不支持此指令：%(name)s") % {"name": name})
    if device.lifecycle == Lifecycle.DISABLED:
        raise field_error("device", _("设备已停用"))
    if not 1 <= ttl_s <= MAX_TTL_S:
        raise field_error("ttl_s", _("有效期应在1秒到24小时之间"))
    now = timezone.now()
    command = DeviceCommand(compound_id=device.compound_id, device=device, command_id=uuid.uuid4().hex, name=name,
                            params=params or {}, issued_by=issued_by[:80], created_at=now,
                            expires_at=now + dt.timedelta(seconds=ttl_s))
    if device.device_type.protocol not in DOWNLINK:
        command.status = CommandStatus.FAILED
        command.detail = _("该协议的设备没有下行通道")
    with transaction.atomic():
        save_new(command)
        if command.status == CommandStatus.PENDING:
            transaction.on_commit(_wake.set)
            wakeup.announce(WAKEUP)  # the sender may run in another gateway process (a web request, --edge)
    return command


def apply_acks(events: list) -> None:
    """The pipeline hook: a device's ack closes its command (inside the batch's transaction)."""
    acks = [e for e in events if e.type == types.COMMAND_ACK]
    for event in acks:
        ok = bool(event.payload.get("ok"))
        DeviceCommand.objects.filter(command_id=str(event.payload.get("command_id", ""))[:32],
                                     device_id=event.device_id,
                                     status__in=(CommandStatus.PENDING, CommandStatus.SENT)).update(
            status=CommandStatus.ACKED if ok else CommandStatus.FAILED, acked_at=event.at,
            detail=str(event.payload.get("detail", ""))[:500])


# An ack must close its command together with the stored event.
apply_acks.atomic_with_store = lambda batch: any(m.type == types.COMMAND_ACK for m in batch)  # type: ignore[attr-defined]


def claim_due(now: dt.datetime | None = None, limit: int = 100) -> list[DeviceCommand]:
    """Expire stale commands and return the pending ones to publish (oldest first)."""
    now = now or timezone.now()
    with transaction.atomic():
        DeviceCommand.objects.filter(status=CommandStatus.PENDING, expires_at__lte=now).update(
            status=CommandStatus.EXPIRED, detail=_("超过有效期未能下发"))
        return list(DeviceCommand.objects.select_related("device").filter(status=CommandStatus.PENDING)
                    .order_by("created_at")[:limit])


def mark(command: DeviceCommand, *, sent: bool, detail: str = "") -> None:
    now = timezone.now()
    attempts = command.attempts + 1
    if sent:
        changes = {"status": CommandStatus.SENT, "sent_at": now, "attempts": attempts}
    elif attempts >= MAX_ATTEMPTS:
        changes = {"status": CommandStatus.FAILED, "attempts": attempts, "detail": detail[:500]}
    else:
        changes = {"attempts": attempts, "detail": detail[:500]}
    # Only a pending row moves: an ack that raced ahead of us must not be overwritten.
    DeviceCommand.objects.filter(pk=command.pk, status=CommandStatus.PENDING).update(**changes)


Publisher = Callable[[DeviceCommand], Awaitable[None]]


async def deliver_once(publish: Publisher) -> int:
    """Publish every due command once; returns how many went out."""
    due = await asyncio.to_thread(_claim_in_thread)
    sent = 0
    for command in due:
        try:
            await publish(command)
        except Exception as exc:  # broker down, device unknown: retried on the next round
            await asyncio.to_thread(mark, command, sent=False, detail=type(exc).__name__)
            continue
        await asyncio.to_thread(mark, command, sent=True)
        sent += 1
    return sent


def _claim_in_thread() -> list[DeviceCommand]:
    close_old_connections()
    return claim_due()


async def start_command_sender(context: Any, every_s: float = 1.0) -> Callable[[], Awaitable[None]]:
    """The gateway's sender: woken when a command is queued in this process, else polls."""

    async def publish(command: DeviceCommand) -> None:
        if context.mqtt is None:
            raise ConnectionError("no MQTT ingress in this gateway")
        await context.mqtt.send_command(command.device.code, command.name, command.params,
                                        ttl_s=max(1, int((command.expires_at - timezone.now()).total_seconds())),
                                        issued_by=command.issued_by, command_id=command.command_id)

    async def loop() -> None:
        while True:
            try:
                await deliver_once(publish)
            except Exception as exc:
                log.warning("command sender failed: %s", type(exc).__name__)
            await asyncio.to_thread(_wake.wait, every_s)
            _wake.clear()

    task = asyncio.get_running_loop().create_task(loop(), name="command-sender")
    stop_listening = await wakeup.listen({WAKEUP: _wake.set})

    async def stop() -> None:
        if stop_listening is not None:
            await stop_listening()
        task.cancel()
        _wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
