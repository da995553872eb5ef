"""Notices (公告) of a compound and who has read them.

A notice speaks to one audience: the whole compound, one building, one unit (residents with a
current residency there, and the compound's staff), or only some staff roles (never residents).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel

MAX_BODY = 5000


class NoticeCategory(models.TextChoices):
    ORDINARY = "ordinary", _("普通通知")
    MAINTENANCE = "maintenance", _("停水停电等维修通知")
    EMERGENCY = "emergency", _("紧急通知")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SCHEDULED = "scheduled", _("待发布")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class NoticeAudience(models.TextChoices):
    COMPOUND = "compound", _("全小区")
    BUILDING = "building", _("本楼栋")
    UNIT = "unit", _("本单元")
    ROLES = "roles", _("指定岗位")


class Notice(ScopedModel):
    """Notice — 通知公告: what a compound's property office or community tells its residents or staff.

    `roles` holds staff role codes between commas (",guard,cashier,") so one `contains` lookup
    finds the notices for a role on every database."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    audience = models.CharField(max_length=10, choices=NoticeAudience.choices, default=NoticeAudience.COMPOUND)
    building = models.ForeignKey("places.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("places.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    roles = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=120)
    body = models.TextField(max_length=MAX_BODY)
    category = models.CharField(max_length=12, choices=NoticeCategory.choices, default=NoticeCategory.ORDINARY)
    status = models.CharField(max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    publish_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    pinned = models.BooleanField(default=False)
    author = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdraw_reason = models.CharField(max_length=200, blank=True)
    # The outbox entry of the publication (or of the emergency broadcast); a plain id, notify is below us.
    notification_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pinned", "-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="notice_audience_matches_place",
                condition=(Q(audience="compound", building__isnull=True, unit__isnull=True, roles="")
                           | Q(audience="building", building__isnull=False, unit__isnull=True, roles="")
                           | Q(audience="unit", building__isnull=False, unit__isnull=False, roles="")
                           | (Q(audience="roles", building__isnull=True, unit__isnull=True) & ~Q(roles=""))),
            ),
            models.CheckConstraint(name="notice_expires_after_publication",
                                   condition=Q(expires_at__isnull=True) | Q(publish_at__isnull=True)
                                   | Q(expires_at__gt=models.F("publish_at"))),
        ]
        indexes = [models.Index(fields=["compound", "status", "published_at"]),
                   models.Index(fields=["status", "publish_at"])]
        permissions = [("broadcast_notice", "Can send emergency broadcasts to a building")]

    def __str__(self) -> str:
        return self.title

    @property
    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]

    @staticmethod
    def roles_text(roles: tuple[str, ...] | list[str]) -> str:
        return "," + ",".join(sorted(set(roles))) + "," if roles else ""

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        """Published, unexpired notices to the compound, building or unit of a current household."""
        current = Q(status=NoticeStatus.PUBLISHED) & (Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        reach = (Q(audience=NoticeAudience.COMPOUND, compound__in=grant.compounds)
                 | Q(audience=NoticeAudience.BUILDING, building__in=grant.houses.values("building_id"))
                 | Q(audience=NoticeAudience.UNIT, unit__in=grant.houses.values("unit_id")))
        return current & reach


class NoticeRead(ScopedModel):
    """NoticeRead — 已读回执: one user read one notice (the first time counts)."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    reader = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["notice_id", "read_at"]
        constraints = [models.UniqueConstraint(fields=["notice", "reader"], name="notice_read_once_per_user")]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.reader_id}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(reader__person_id=grant.person_id)
