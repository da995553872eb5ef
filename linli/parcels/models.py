"""Parcels (快递): what arrived for a house, its pickup code, and each compound's reminder policy."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel

TRACKING_CONTEXT = "parcel.tracking_no"


class Source(models.TextChoices):
    BOOTH = "booth", _("门岗登记")
    SERVICE_DESK = "service_desk", _("物业前台登记")
    LOCKER = "locker", _("智能快递柜")


class Status(models.TextChoices):
    WAITING = "waiting", _("待取件")
    PICKED_UP = "picked_up", _("已取件")
    RETURNED = "returned", _("已退回快递员")


class PickupMethod(models.TextChoices):
    CODE_AT_BOOTH = "code_at_booth", _("凭取件码在门岗领取")
    RESIDENT_CONFIRMED = "resident_confirmed", _("住户确认已取")
    LOCKER = "locker", _("快递柜取件")


class ParcelPolicy(ScopedModel):
    """ParcelPolicy — 快递催领规则: when a compound reminds households of parcels left waiting, and how
    many wrong pickup codes lock a parcel for how long. A compound without one uses the defaults."""

    compound = models.OneToOneField("places.Compound", on_delete=models.CASCADE, related_name="parcel_policy")
    first_reminder_hours = models.PositiveIntegerField(default=48, validators=[MinValueValidator(1),
                                                                              MaxValueValidator(30 * 24)])
    reminder_every_hours = models.PositiveIntegerField(default=24, validators=[MinValueValidator(1),
                                                                              MaxValueValidator(30 * 24)])
    max_reminders = models.PositiveSmallIntegerField(default=3, validators=[MaxValueValidator(20)])
    code_attempts = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1),
                                                                           MaxValueValidator(20)])
    lockout_minutes = models.PositiveIntegerField(default=15, validators=[MinValueValidator(1),
                                                                         MaxValueValidator(24 * 60)])

    class Meta:
        ordering = ["compound_id"]
        verbose_name_plural = "parcel policies"

    def __str__(self) -> str:
        return f"parcel-policy:{self.compound_id}"

    @property
    def first_reminder(self) -> dt.timedelta:
        return dt.timedelta(hours=self.first_reminder_hours)

    @property
    def reminder_every(self) -> dt.timedelta:
        return dt.timedelta(hours=self.reminder_every_hours)


class Parcel(ScopedModel):
    """Parcel — 快递包裹: one parcel waiting for (or collected by) a household.

    The tracking number can identify a person, so only its last four digits and a keyed digest are
    kept. The pickup code is shown to the household only; staff must ask the resident for it."""

    # The code is the household's secret: it stays out of the audit log that staff read.
    audit_exclude = ("pickup_code", "tracking_digest")

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="parcels")
    source = models.CharField(max_length=14, choices=Source.choices, default=Source.BOOTH)
    courier = models.CharField(max_length=40, blank=True)
    tracking_last4 = models.CharField(max_length=4, blank=True)
    tracking_digest = models.CharField(max_length=64, blank=True, db_index=True)
    position = models.CharField(max_length=40, blank=True)  # shelf or locker box: "A-03"
    locker_device = models.CharField(max_length=64, blank=True)
    pickup_code = models.CharField(max_length=12)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    note = models.CharField(max_length=200, blank=True)
    registered_at = models.DateTimeField()
    registered_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    picked_up_at = models.DateTimeField(null=True, blank=True)
    picked_up_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    pickup_method = models.CharField(max_length=20, choices=PickupMethod.choices, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.CharField(max_length=200, blank=True)
    failed_code_attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    # A locker event's "<device>#<message id>", so a redelivered event registers no second parcel.
    source_key = models.CharField(max_length=140, blank=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "pickup_code"], condition=Q(status="waiting"),
                                    name="parcel_code_unique_among_waiting"),
            models.UniqueConstraint(fields=["source_key"], condition=~Q(source_key=""),
                                    name="parcel_one_per_locker_message"),
        ]
        indexes = [
            models.Index(fields=["compound", "status", "registered_at"]),
            models.Index(fields=["house", "status"]),
        ]

    def __str__(self) -> str:
        return f"parcel:{self.pk}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)
