"""The device registry: types as data, devices placed on the place tree, their credentials
and their live state (感知前端)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import ScopedModel, ScopedQuerySet
from linli.devices import codes


class DeviceKind(models.TextChoices):
    LPR_CAMERA = "lpr_camera", _("车牌识别相机")
    BARRIER_GATE = "barrier_gate", _("道闸")
    PARKING_SENSOR = "parking_sensor", _("车位检测器")
    GROUND_LOCK = "ground_lock", _("智能地锁")
    DOOR_CONTROLLER = "door_controller", _("门禁控制器/人脸终端")
    SMOKE_DETECTOR = "smoke_detector", _("烟感探测器")
    GAS_DETECTOR = "gas_detector", _("可燃气体探测器")
    WATER_METER = "water_meter", _("水表")
    DOOR_CONTACT = "door_contact", _("门磁")
    ELEVATOR_CONTROLLER = "elevator_controller", _("电梯控制器")
    ELEVATOR_AI_CAMERA = "elevator_ai_camera", _("电梯AI摄像机")
    IP_CAMERA = "ip_camera", _("网络摄像机")
    PERIMETER_SENSOR = "perimeter_sensor", _("周界探测器")
    LOUDSPEAKER = "loudspeaker", _("广播音箱")
    LED_DISPLAY = "led_display", _("LED显示屏")


class Protocol(models.TextChoices):
    """The message format a device speaks; one adapter module per value in devices/adapters/."""

    LINLI_JSON = "linli_json", _("邻里JSON（HTTP）")
    LINLI_MQTT = "linli_mqtt", _("邻里MQTT")
    ALARM_INFO_PLATE = "alarm_info_plate", _("AlarmInfoPlate车牌相机")
    HIK_ISAPI = "hik_isapi", _("海康ISAPI事件推送")
    NBIOT_WEBHOOK = "nbiot_webhook", _("NB-IoT运营商平台推送")


class DeviceType(models.Model):
    """DeviceType — 设备型号: what a model of device can do and how often it must be heard from."""

    code = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=24, choices=DeviceKind.choices)
    name = models.CharField(max_length=60)
    vendor = models.CharField(max_length=40, blank=True)
    protocol = models.CharField(max_length=20, choices=Protocol.choices)
    capabilities = models.JSONField(default=list, blank=True)
    heartbeat_s = models.PositiveIntegerField(help_text=_("期望心跳间隔（秒）"))
    # Fire, smoke, gas and entrapment devices: their events take the lane bulk telemetry cannot delay.
    life_safety = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, grant) -> Q | None:
        # The catalogue of device types is shared reference data: restrict() only asks grants that
        # hold devices.view_devicetype, and to those all of it is visible.
        return Q(pk__gt=0)


class Lifecycle(models.TextChoices):
    PROVISIONED = "provisioned", _("已登记")
    ACTIVE = "active", _("运行中")
    DISABLED = "disabled", _("已停用")


class Device(ScopedModel):
    """Device — 感知设备: one physical device placed in a compound (and building, unit, floor)."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="devices")
    building = models.ForeignKey("places.Building", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="devices")
    unit = models.ForeignKey("places.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    floor = models.SmallIntegerField(null=True, blank=True)
    device_type = models.ForeignKey(DeviceType, on_delete=models.PROTECT, related_name="devices")
    # The public identifier used in topics and URLs (`linli/v1/{code}/…`) and the device's MQTT
    # username; never the database id. Which codes may exist: linli/devices/codes.py.
    code = models.CharField(max_length=codes.MAX_LENGTH, unique=True, validators=[codes.validate_device_code])
    serial = models.CharField(max_length=64)
    name = models.CharField(max_length=60)
    # Position in compound metres (same frame as building footprints) for maps and "nearest camera".
    x_m = models.FloatField(null=True, blank=True)
    y_m = models.FloatField(null=True, blank=True)
    lifecycle = models.CharField(max_length=12, choices=Lifecycle.choices, default=Lifecycle.PROVISIONED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["compound_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["device_type", "serial"], name="device_serial_unique_per_type"),
            # Again in the database, so no write that skips validation can make a code that
            # collides with a broker account or changes what a line of the broker's files means.
            models.CheckConstraint(condition=codes.allowed_q(), name="device_code_allowed"),
        ]
        indexes = [models.Index(fields=["compound", "id"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CredentialKind(models.TextChoices):
    HTTP_TOKEN = "http_token", _("HTTP令牌")
    MQTT_PASSWORD = "mqtt_password", _("MQTT口令")


class DeviceCredential(models.Model):
    """A device's secret, stored only as a hash; rotating issues a new one and revokes the old."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=16, choices=CredentialKind.choices)
    # HTTP tokens: SHA-256 of a 256-bit random token (looked up by digest).
    # MQTT passwords: Mosquitto's PBKDF2-SHA512 `$7$` form, so the broker's password file is this column.
    secret_hash = models.CharField(max_length=200, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    audit_exclude = ("secret_hash",)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "kind"], condition=Q(revoked_at__isnull=True),
                                    name="one_live_credential_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.kind}"

    @property
    def compound_id(self) -> int:
        return self.device.compound_id


class DeviceState(models.Model):
    """Live state, apart from the registry row so the hot path writes a narrow table.

    Connection (online/offline) is kept apart from activity (last message) and from values.
    """

    device = models.OneToOneField(Device, on_delete=models.CASCADE, primary_key=True, related_name="state")
    online = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_connected_at = models.DateTimeField(null=True, blank=True)
    offline_since = models.DateTimeField(null=True, blank=True)
    battery_low = models.BooleanField(default=False)
    tamper = models.BooleanField(default=False)
    fault = models.BooleanField(default=False)
    last_values = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.device_id}: {'online' if self.online else 'offline'}"


class OutageCause(models.TextChoices):
    OFFLINE = "offline", _("离线")
    FAULT = "fault", _("故障")


class DeviceOutage(ScopedModel):
    """One stretch of time a device was down (offline or faulty): the health page's uptime
    history and mean time to repair are computed from these."""

    compound = models.ForeignKey("places.Compound", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="outages")
    cause = models.CharField(max_length=10, choices=OutageCause.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["device", "cause"], condition=Q(ended_at__isnull=True),
                                    name="one_open_outage_per_device_and_cause"),
        ]
        indexes = [models.Index(fields=["compound", "started_at"])]

    def __str__(self) -> str:
        return f"{self.device_id} {self.cause} {self.started_at:%Y-%m-%d %H:%M}"


class CommandStatus(models.TextChoices):
    PENDING = "pending", _("待下发")
    SENT = "sent", _("已下发")
    ACKED = "acked", _("已执行")
    FAILED = "failed", _("执行失败")
    EXPIRED = "expired", _("已过期")


class DeviceCommand(ScopedModel):
    """A command to a device (open the gate, play a message, hold the elevator door).

    Queued in the database so a command survives a gateway restart; the gateway publishes it and
    the device's ack (matched by `command_id`) closes it. A command past `expires_at` is never sent.
    """

    compound = models.ForeignKey("places.Compound", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    command_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    issued_by = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "created_at"]), models.Index(fields=["compound", "id"])]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.name} {self.status}"
