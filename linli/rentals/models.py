"""Rentals (租赁): houses offered for rent and tenancies registered into the real population."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel


class ListingStatus(models.TextChoices):
    OPEN = "open", _("招租中")
    LET = "let", _("已出租")
    WITHDRAWN = "withdrawn", _("已撤下")


class TenancyPurpose(models.TextChoices):
    RESIDENTIAL = "residential", _("居住")
    BUSINESS = "business", _("经营")


class TenancyStatus(models.TextChoices):
    ACTIVE = "active", _("租赁中")
    ENDED = "ended", _("已结束")


class Listing(ScopedModel):
    """Listing — 房屋出租信息: a house offered for rent. Enquiries go through the platform; the
    listing carries no phone number."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="rental_listings")
    rent_fen = models.BigIntegerField(validators=[MinValueValidator(1)])
    deposit_fen = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    available_from = models.DateField()
    description = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=ListingStatus.choices, default=ListingStatus.OPEN)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["house"], condition=Q(status="open"), name="listing_one_open_per_house"),
            models.CheckConstraint(condition=Q(rent_fen__gt=0) & Q(deposit_fen__gte=0),
                                   name="listing_amounts_positive"),
        ]
        indexes = [models.Index(fields=["compound", "status"])]

    def __str__(self) -> str:
        return f"{self.house_id}:{self.rent_fen}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        """Open listings of the resident's compounds, and every listing of their own households."""
        return Q(status=ListingStatus.OPEN, compound__in=grant.compounds) | Q(house__in=grant.houses)


class Tenancy(ScopedModel):
    """Tenancy — 租赁登记: a tenant registered in a house for a lease, with the tenant residency it
    created. The residency is current while the lease runs and closes with the lease's end
    (`end_expired_tenancies`) or when the tenancy is ended early."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="tenancies")
    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="tenancies")
    # The tenant's record goes with the person when it is erased (PIPL Art. 47), like a residency.
    tenant = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="tenancies")
    landlord = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="lettings")
    lease_start = models.DateField()
    lease_end = models.DateField()
    rent_fen = models.BigIntegerField(validators=[MinValueValidator(0)])
    purpose = models.CharField(max_length=12, choices=TenancyPurpose.choices, default=TenancyPurpose.RESIDENTIAL)
    residency = models.OneToOneField("people.Residency", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="tenancy")
    status = models.CharField(max_length=8, choices=TenancyStatus.choices, default=TenancyStatus.ACTIVE)
    ended_on = models.DateField(null=True, blank=True)
    registered_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-lease_start", "-id"]
        verbose_name_plural = "tenancies"
        constraints = [
            models.CheckConstraint(condition=Q(lease_end__gte=models.F("lease_start")),
                                   name="tenancy_lease_end_after_start"),
            models.CheckConstraint(condition=Q(rent_fen__gte=0), name="tenancy_rent_not_negative"),
        ]
        indexes = [models.Index(fields=["compound", "lease_start"]), models.Index(fields=["status", "lease_end"])]
        permissions = [("export_tenancy", "Can export rental registrations for the police")]

    def __str__(self) -> str:
        return f"{self.house_id}:{self.tenant_id}:{self.lease_start}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        """A resident sees the tenancies they let out or live in."""
        return Q(landlord_id=grant.person_id) | Q(tenant_id=grant.person_id)
