"""Visitors (访客): a resident's invitation with its one-time code, and every visit at the gate."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from linli.core import crypto
from linli.core.masking import mask_phone
from linli.core.scope import Grant, ScopedModel

PHONE_CONTEXT = "visitor.phone"
CODE_CONTEXT = "visitor.invitation_code"
MAX_USES = 20


class InvitationStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    USED_UP = "used_up", _("次数已用完")
    CANCELLED = "cancelled", _("已取消")
    EXPIRED = "expired", _("已过期")


class VisitKind(models.TextChoices):
    INVITATION = "invitation", _("凭邀请码")
    WALK_IN = "walk_in", _("临时来访")


class VisitStatus(models.TextChoices):
    ADMITTED = "admitted", _("已放行")
    PENDING_HOST = "pending_host", _("等待住户确认")
    REFUSED = "refused", _("住户拒绝")
    EXPIRED = "expired", _("确认超时")


class SealedPhone(models.Model):
    """The visitor's phone, sealed like a person's: cipher, keyed digest, and the masked form shown."""

    visitor_phone_cipher = models.TextField(blank=True, editable=False)
    visitor_phone_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    visitor_phone_masked = models.CharField(max_length=16, blank=True, editable=False)

    class Meta:
        abstract = True

    def set_visitor_phone(self, value: str) -> None:
        if not value:
            self.visitor_phone_cipher = self.visitor_phone_digest = self.visitor_phone_masked = ""
            return
        sealed = crypto.seal(value, context=PHONE_CONTEXT, masked=mask_phone(value))
        self.visitor_phone_cipher, self.visitor_phone_digest = sealed.cipher, sealed.digest
        self.visitor_phone_masked = sealed.masked

    def visitor_phone_plain(self) -> str:
        """Only for calling the visitor; callers audit the access."""
        return crypto.decrypt(self.visitor_phone_cipher, context=PHONE_CONTEXT) if self.visitor_phone_cipher else ""


class Invitation(ScopedModel, SealedPhone):
    """Invitation — 访客邀请: a resident lets a visitor in during a window, a number of times.

    Only a keyed digest of the code is kept; the clear code is shown to the host once."""

    audit_exclude = ("visitor_phone_cipher", "visitor_phone_digest", "code_digest")

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="invitations")
    host_user = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    host_person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    visitor_name = models.CharField(max_length=40)
    plate = models.CharField(max_length=12, blank=True)  # a plate means the visitor parks
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    uses_allowed = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1),
                                                                          MaxValueValidator(MAX_USES)])
    uses_made = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.ACTIVE)
    code_digest = models.CharField(max_length=64, unique=True, editable=False)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="invitation_ends_after_start"),
            models.CheckConstraint(condition=Q(uses_allowed__gte=1, uses_allowed__lte=MAX_USES),
                                   name="invitation_uses_1_to_20"),
            models.CheckConstraint(condition=Q(uses_made__lte=F("uses_allowed")),
                                   name="invitation_uses_within_allowed"),
        ]
        indexes = [models.Index(fields=["compound", "status", "ends_at"]), models.Index(fields=["house", "status"])]
        permissions = [("honour_invitation", "Can admit visitors by invitation code")]

    def __str__(self) -> str:
        return f"invitation:{self.pk}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class Visit(ScopedModel, SealedPhone):
    """Visit — 来访记录: one entry of a visitor, by invitation or as a walk-in registered at the booth.

    A walk-in waits for the household's answer (`answer_by`); unanswered, it expires."""

    audit_exclude = ("visitor_phone_cipher", "visitor_phone_digest")

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="visits")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="visits")
    kind = models.CharField(max_length=10, choices=VisitKind.choices)
    status = models.CharField(max_length=12, choices=VisitStatus.choices)
    visitor_name = models.CharField(max_length=40)
    purpose = models.CharField(max_length=100, blank=True)
    plate = models.CharField(max_length=12, blank=True)
    gate = models.CharField(max_length=64, blank=True)
    arrived_at = models.DateTimeField()
    registered_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    answer_by = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["-arrived_at", "-id"]
        indexes = [models.Index(fields=["compound", "arrived_at"]), models.Index(fields=["house", "arrived_at"]),
                   models.Index(fields=["status", "answer_by"])]

    def __str__(self) -> str:
        return f"visit:{self.pk}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)
