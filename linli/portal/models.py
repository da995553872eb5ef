"""The portal's own records: house binding requests residents file for staff to verify, and each
user's portal preferences (elderly mode, language)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core import crypto
from linli.core.masking import mask_id_number, mask_phone
from linli.core.scope import Grant, ScopedModel
from linli.people.identity import IdType
from linli.people.models import ID_CONTEXT, PHONE_CONTEXT, ResidencyRole

# The privacy notice an applicant agrees to; bump when its text changes so each consent names its version.
PRIVACY_NOTICE_VERSION = "2026-01"


class BindingStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已驳回")


# Roles a person may claim when binding; co-residents are registered by staff.
CLAIMABLE_ROLES = (ResidencyRole.OWNER, ResidencyRole.FAMILY, ResidencyRole.TENANT)


class BindingRequest(ScopedModel):
    """BindingRequest — 绑定申请: a person asks to be bound to a house; staff of the compound verify.

    Phone and ID numbers are sealed the way people.Person seals them (same contexts, so the digest
    finds the Person on approval) and shown masked.
    """

    audit_exclude = ("phone_cipher", "phone_digest", "id_cipher", "id_digest")

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=60)
    role = models.CharField(max_length=12, choices=ResidencyRole.choices)
    phone_cipher = models.TextField(editable=False)
    phone_digest = models.CharField(max_length=64, editable=False, db_index=True)
    phone_masked = models.CharField(max_length=16, editable=False)
    id_type = models.CharField(max_length=20, choices=IdType.choices, default=IdType.MAINLAND_ID)
    id_cipher = models.TextField(blank=True, editable=False)
    id_digest = models.CharField(max_length=64, blank=True, editable=False)
    id_masked = models.CharField(max_length=24, blank=True, editable=False)
    privacy_accepted_at = models.DateTimeField()
    privacy_version = models.CharField(max_length=20)
    # The resident account that applied (a logged-in resident binding another house), or the one
    # approval created or found, so the applicant sees their request afterwards.
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    status = models.CharField(max_length=10, choices=BindingStatus.choices, default=BindingStatus.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    residency = models.ForeignKey("people.Residency", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["phone_digest", "house"], condition=Q(status="pending"),
                                    name="binding_one_pending_per_phone_and_house"),
        ]
        indexes = [models.Index(fields=["compound", "status"])]

    def __str__(self) -> str:
        return f"{self.name} → {self.house_id}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(applicant__person_id=grant.person_id)

    def set_phone(self, value: str) -> None:
        sealed = crypto.seal(value, context=PHONE_CONTEXT, masked=mask_phone(value))
        self.phone_cipher, self.phone_digest, self.phone_masked = sealed.cipher, sealed.digest, sealed.masked

    def set_id_number(self, value: str) -> None:
        if not value:
            self.id_cipher = self.id_digest = self.id_masked = ""
            return
        sealed = crypto.seal(value, context=ID_CONTEXT, masked=mask_id_number(value))
        self.id_cipher, self.id_digest, self.id_masked = sealed.cipher, sealed.digest, sealed.masked

    def phone_plain(self) -> str:
        return crypto.decrypt(self.phone_cipher, context=PHONE_CONTEXT)

    def id_number_plain(self) -> str:
        return crypto.decrypt(self.id_cipher, context=ID_CONTEXT) if self.id_cipher else ""


class PortalPreference(models.Model):
    """PortalPreference — 个人偏好: elderly mode (适老化) and the interface language of one account."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_preference")
    elderly_mode = models.BooleanField(default=False)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}"
