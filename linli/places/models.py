"""The place tree and real houses (一标, 实有房屋): region → grid → compound → building → unit → house."""

from __future__ import annotations

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel, ScopedQuerySet


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")


# Administrative code length per level: GB/T 2260 (6 digits to district), statistical codes below.
CODE_LENGTH = {
    RegionLevel.PROVINCE: 6,
    RegionLevel.CITY: 6,
    RegionLevel.DISTRICT: 6,
    RegionLevel.STREET: 9,
    RegionLevel.COMMUNITY: 12,
}
PARENT_LEVEL = {
    RegionLevel.CITY: RegionLevel.PROVINCE,
    RegionLevel.DISTRICT: RegionLevel.CITY,
    RegionLevel.STREET: RegionLevel.DISTRICT,
    RegionLevel.COMMUNITY: RegionLevel.STREET,
}


class Region(models.Model):
    """Region — 行政区划: province, city, district, street (街道) or community (社区)."""

    level = models.CharField(max_length=10, choices=RegionLevel.choices)
    code = models.CharField(max_length=12, unique=True, validators=[RegexValidator(r"^\d{6}(\d{3}){0,2}$")])
    name = models.CharField(max_length=60)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Materialised path of codes ("370000/370200/370281/…/"), so a subtree is one prefix query.
    path = models.CharField(max_length=100, unique=True, editable=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="region_name_unique_in_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, grant: Grant) -> Q | None:
        # A region is visible to anyone working inside it (ancestors) or over it (descendants).
        if grant.region_path:
            return Q(path__startswith=grant.region_path) | Q(
                path__in=ancestor_paths(grant.region_path)
            )
        if grant.compounds is not None:
            return Q(path__in=Compound.objects.filter(id__in=grant.compounds).values("region_path")) | Q(
                pk__in=_ancestor_ids_of_compounds(grant.compounds)
            )
        return None

    def full_name(self) -> str:
        names = [r.name for r in self.ancestors()] + [self.name]
        # 直辖市 repeat their name at city level; say it once.
        return "".join(n for i, n in enumerate(names) if i == 0 or n != names[i - 1])

    def ancestors(self) -> list[Region]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


def ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["".join(f"{p}/" for p in parts[:i]) for i in range(1, len(parts))]


def _ancestor_ids_of_compounds(compounds) -> list[int]:
    paths = set(Compound.objects.filter(id__in=compounds).values_list("region_path", flat=True).distinct())
    wanted = {a for p in paths for a in ancestor_paths(p)}
    return list(Region.objects.filter(path__in=wanted).values_list("id", flat=True))


class Grid(models.Model):
    """Grid — 网格: a grid worker's patch inside a community."""

    community = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="grids")
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=60)
    region_path = models.CharField(max_length=100, editable=False, db_index=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="grid_name_unique_in_community")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, grant: Grant) -> Q | None:
        if grant.region_path:
            return Q(region_path__startswith=grant.region_path)
        if grant.compounds is not None:
            return Q(pk__in=Compound.objects.filter(id__in=grant.compounds).values("grid_id"))
        return None


class Compound(ScopedModel):
    """Compound — 小区: the unit a property company manages and most records belong to."""

    scope_compound = "id"

    community = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="compounds")
    grid = models.ForeignKey(Grid, null=True, blank=True, on_delete=models.SET_NULL, related_name="compounds")
    code = models.CharField(max_length=20, unique=True, editable=False)
    name = models.CharField(max_length=60)
    address = models.CharField(max_length=120, blank=True)
    year_built = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1900)])
    # GeoJSON-like [[lng, lat], …] in WGS-84; the centre is kept for maps and distance.
    boundary = models.JSONField(default=list, blank=True)
    centre_lng = models.FloatField(null=True, blank=True)
    centre_lat = models.FloatField(null=True, blank=True)
    property_company = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_compounds"
    )
    owners_committee = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="committee_of"
    )
    region_path = models.CharField(max_length=100, editable=False, db_index=True)
    standard_address = models.CharField(max_length=200, editable=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="compound_name_unique_in_community"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def compound_id(self) -> int:
        return self.id

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(id__in=grant.compounds)



class Building(ScopedModel):
    """Building — 楼栋. Footprint is a polygon in compound metres ([[x, y], …])."""

    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="buildings")
    number = models.CharField(max_length=10)
    name = models.CharField(max_length=30, blank=True)
    floors_above = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    floors_below = models.PositiveSmallIntegerField(default=0)
    unit_count = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    height_m = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    footprint = models.JSONField(default=list, blank=True)
    has_elevator = models.BooleanField(default=False)
    address_code = models.CharField(max_length=40, unique=True, editable=False)
    standard_address = models.CharField(max_length=200, editable=False)

    class Meta:
        ordering = ["compound_id", "number"]
        constraints = [models.UniqueConstraint(fields=["compound", "number"], name="building_unique_in_compound")]

    def __str__(self) -> str:
        return f"{self.number}号楼"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(id__in=grant.houses.values("building_id"))



class Unit(ScopedModel):
    """Unit — 单元: one stairwell of a building."""

    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="units")
    number = models.CharField(max_length=10)
    address_code = models.CharField(max_length=44, unique=True, editable=False)
    standard_address = models.CharField(max_length=200, editable=False)

    class Meta:
        ordering = ["building_id", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="unit_unique_in_building")]

    def __str__(self) -> str:
        return f"{self.number}单元"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(id__in=grant.houses.values("unit_id"))



class HouseUse(models.TextChoices):
    RESIDENTIAL = "residential", _("住宅")
    COMMERCIAL = "commercial", _("商业")
    OFFICE = "office", _("办公")
    STORAGE = "storage", _("储藏")
    OTHER = "other", _("其他")


class Occupancy(models.TextChoices):
    OWNER_OCCUPIED = "owner", _("自住")
    RENTED = "rented", _("出租")
    VACANT = "vacant", _("空置")
    OTHER = "other", _("其他")


class House(ScopedModel):
    """House — 房屋, 实有房屋: one dwelling or shop with a coded standard address."""

    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="houses")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="houses")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="houses")
    number = models.CharField(max_length=10)
    floor = models.SmallIntegerField()
    built_area = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    inner_area = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    use = models.CharField(max_length=12, choices=HouseUse.choices, default=HouseUse.RESIDENTIAL)
    occupancy = models.CharField(max_length=8, choices=Occupancy.choices, default=Occupancy.OWNER_OCCUPIED)
    address_code = models.CharField(max_length=50, unique=True, editable=False)
    standard_address = models.CharField(max_length=200, editable=False)

    class Meta:
        ordering = ["building_id", "unit_id", "floor", "number"]
        constraints = [models.UniqueConstraint(fields=["unit", "number"], name="house_unique_in_unit")]
        indexes = [models.Index(fields=["compound", "id"])]

    def __str__(self) -> str:
        return self.standard_address or self.number


    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(id__in=grant.houses)
