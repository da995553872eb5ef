"""Real population and real units (实有人口, 实有单位): persons, residencies, organisations,
businesses, vehicles and consent records."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core import crypto
from linli.core.masking import mask_id_number, mask_phone
from linli.core.scope import Grant, ScopedModel, ScopedQuerySet
from linli.people.identity import IdType
from linli.people.plates import PlateColour

ID_CONTEXT = "person.id_number"
PHONE_CONTEXT = "person.phone"
CONTACT_CONTEXT = "organisation.contact_phone"


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")
    UNKNOWN = "unknown", _("未知")


class PopulationType(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    FLOATING = "floating", _("流动人口")
    OVERSEAS = "overseas", _("境外人员")


class CareTag(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    ELDERLY = "elderly", _("高龄老人")
    DISABLED = "disabled", _("残疾人")
    LOW_INCOME = "low_income", _("低保户")
    VETERAN = "veteran", _("退役军人")
    CHILD_LEFT_BEHIND = "child_left_behind", _("留守儿童")


class Person(ScopedModel):
    """Person — 实有人口. Kept by the compound where the record is maintained.

    ID and phone numbers are sealed (AES-GCM), findable by keyed digest, and shown masked.
    """

    audit_exclude = ("id_cipher", "id_digest", "phone_cipher", "phone_digest")

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="persons")
    name = models.CharField(max_length=60)
    gender = models.CharField(max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)
    birth_date = models.DateField(null=True, blank=True)
    id_type = models.CharField(max_length=20, choices=IdType.choices, default=IdType.MAINLAND_ID)
    id_cipher = models.TextField(editable=False)
    id_digest = models.CharField(max_length=64, editable=False)
    id_masked = models.CharField(max_length=24, editable=False)
    phone_cipher = models.TextField(blank=True, editable=False)
    phone_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    phone_masked = models.CharField(max_length=16, blank=True, editable=False)
    population_type = models.CharField(
        max_length=12, choices=PopulationType.choices, default=PopulationType.REGISTERED
    )
    care_tags = models.JSONField(default=list, blank=True)
    ethnicity = models.CharField(max_length=20, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_digest"], name="person_id_number_unique"),
        ]
        indexes = [models.Index(fields=["compound", "id"]), models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        household = Residency.objects.filter(house__in=grant.houses, until__isnull=True).values("person_id")
        return Q(id=grant.person_id) | Q(id__in=household)

    # Sealing lives on the model so every path (service, import, demo) stores the same shape.
    def set_id_number(self, value: str) -> None:
        sealed = crypto.seal(value, context=ID_CONTEXT, masked=mask_id_number(value))
        self.id_cipher, self.id_digest, self.id_masked = sealed.cipher, sealed.digest, sealed.masked

    def set_phone(self, value: str) -> None:
        if not value:
            self.phone_cipher = self.phone_digest = self.phone_masked = ""
            return
        sealed = crypto.seal(value, context=PHONE_CONTEXT, masked=mask_phone(value))
        self.phone_cipher, self.phone_digest, self.phone_masked = sealed.cipher, sealed.digest, sealed.masked

    def id_number_plain(self) -> str:
        """Only for reveal and the person's own export; callers audit the access."""
        return crypto.decrypt(self.id_cipher, context=ID_CONTEXT)

    def phone_plain(self) -> str:
        return crypto.decrypt(self.phone_cipher, context=PHONE_CONTEXT) if self.phone_cipher else ""

    @staticmethod
    def id_digest_of(value: str) -> str:
        return crypto.digest(value, context=ID_CONTEXT)

    @staticmethod
    def phone_digest_of(value: str) -> str:
        return crypto.digest(value, context=PHONE_CONTEXT)


class ResidencyRole(models.TextChoices):
    OWNER = "owner", _("业主")
    TENANT = "tenant", _("租户")
    FAMILY = "family", _("家庭成员")
    CO_RESIDENT = "co_resident", _("同住人")


class Residency(ScopedModel):
    """Residency — 居住关系: a person living in a house, from `since` until `until`."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="residencies")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="residencies")
    role = models.CharField(max_length=12, choices=ResidencyRole.choices)
    since = models.DateField()
    until = models.DateField(null=True, blank=True)
    verified_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["house_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "house"], condition=Q(until__isnull=True), name="residency_one_current_per_house"
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=models.F("since")), name="residency_until_after_since"
            ),
        ]
        indexes = [models.Index(fields=["compound", "id"]), models.Index(fields=["house", "until"])]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.house_id}:{self.role}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class OrganisationKind(models.TextChoices):
    PROPERTY_COMPANY = "property_company", _("物业服务企业")
    OWNERS_COMMITTEE = "owners_committee", _("业主委员会")
    MAINTENANCE_COMPANY = "maintenance_company", _("维保单位")
    COMMUNITY_OFFICE = "community_office", _("社区居委会")
    STREET_OFFICE = "street_office", _("街道办事处")
    POLICE_STATION = "police_station", _("派出所")
    INTEGRATOR = "integrator", _("系统集成商")


class Organisation(models.Model):
    """Organisation — 组织: property companies, committees, offices and stations Linli works with."""

    kind = models.CharField(max_length=24, choices=OrganisationKind.choices)
    name = models.CharField(max_length=100)
    credit_code = models.CharField(max_length=18, blank=True)
    # The node the organisation serves: a region for offices, a compound for a committee.
    region = models.ForeignKey("places.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey(
        "places.Compound", null=True, blank=True, on_delete=models.PROTECT, related_name="organisations"
    )
    region_path = models.CharField(max_length=100, blank=True, editable=False, db_index=True)
    contact_name = models.CharField(max_length=60, blank=True)
    contact_phone_masked = models.CharField(max_length=16, blank=True, editable=False)
    contact_phone_cipher = models.TextField(blank=True, editable=False)

    audit_exclude = ("contact_phone_cipher",)
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="organisation_unique_name_per_kind"),
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="organisation_credit_code_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, grant: Grant) -> Q | None:
        if grant.is_resident:
            compounds = grant.houses.values("compound_id")
            return Q(compound__in=compounds) | Q(pk__in=_property_companies_of(compounds))
        q = Q(pk__in=[])
        if grant.organisation_id:
            q |= Q(pk=grant.organisation_id)
        if grant.region_path:
            q |= Q(region_path__startswith=grant.region_path)
        if grant.compounds is not None:
            q |= Q(compound__in=grant.compounds) | Q(pk__in=_property_companies_of(grant.compounds))
        return q

    def audit_place(self) -> tuple[int | None, str]:
        return self.compound_id, self.region_path

    def set_contact_phone(self, value: str) -> None:
        self.contact_phone_cipher = crypto.encrypt(value, context=CONTACT_CONTEXT) if value else ""
        self.contact_phone_masked = mask_phone(value) if value else ""


def _property_companies_of(compounds):
    from linli.places.models import Compound

    return Compound.objects.filter(id__in=compounds, property_company__isnull=False).values("property_company_id")


class RealUnit(ScopedModel):
    """RealUnit — 实有单位: a shop or business operating at a standard address."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="real_units")
    house = models.ForeignKey("places.House", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=100)
    credit_code = models.CharField(max_length=18, unique=True)
    business_scope = models.CharField(max_length=200, blank=True)
    legal_person = models.CharField(max_length=60, blank=True)
    employees = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["compound_id", "name"]
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="real_unit_unique_in_compound")]

    def __str__(self) -> str:
        return self.name


class Vehicle(ScopedModel):
    """Vehicle — 车辆: a resident's car registered with the compound."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="vehicles")
    plate = models.CharField(max_length=10)
    colour = models.CharField(max_length=14, choices=PlateColour.choices, default=PlateColour.BLUE)
    owner = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="vehicles")
    house = models.ForeignKey("places.House", null=True, blank=True, on_delete=models.SET_NULL, related_name="vehicles")
    brand = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["compound_id", "plate"]
        constraints = [models.UniqueConstraint(fields=["compound", "plate"], name="vehicle_plate_unique_in_compound")]
        indexes = [models.Index(fields=["plate"]), models.Index(fields=["compound", "id"])]

    def __str__(self) -> str:
        return self.plate

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class ConsentPurpose(models.TextChoices):
    FACE_ACCESS = "face_access", _("人脸识别通行")
    FINGERPRINT_ACCESS = "fingerprint_access", _("指纹通行")
    CARE_MONITORING = "care_monitoring", _("独居老人关怀监测")
    HEALTH_DATA = "health_data", _("健康信息")
    MINOR_DATA = "minor_data", _("未成年人信息（监护人同意）")


class Consent(ScopedModel):
    """Consent — 单独同意 (PIPL Art. 29): a purpose and scope a person agreed to, until withdrawn."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=24, choices=ConsentPurpose.choices)
    scope = models.CharField(max_length=200, help_text=_("同意的具体范围，如：3号楼2单元门禁"))
    granted_at = models.DateTimeField()
    granted_by_guardian = models.CharField(max_length=60, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose", "scope"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} / {self.scope}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(person_id=grant.person_id)
