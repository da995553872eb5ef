"""REST endpoints for the place tree (/api/places/…). Reads via selectors, writes via services."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, PageQuery, Payload, page, paged, patch_field
from linli.places import selectors, services
from linli.places.models import HouseUse, Occupancy, RegionLevel

router = Router(tags=["places"])


class RegionOut(Schema):
    id: int
    level: RegionLevel
    code: str
    name: str
    parent_id: int | None
    path: str


class RegionIn(Payload):
    level: RegionLevel
    code: str = Field(pattern=r"^\d{6}(\d{3}){0,2}$")
    name: str = Field(min_length=1, max_length=60)
    parent_id: Id | None = None


class RegionFilter(Schema):
    level: RegionLevel | None = None
    parent_id: Id | None = None
    q: str = ""


@router.get("/regions", response={200: paged(RegionOut), **ERRORS}, operation_id="list_regions")
def list_regions(request: HttpRequest, filters: Query[RegionFilter], pg: Query[PageQuery]):
    return page(selectors.regions(request.user, level=filters.level, parent_id=filters.parent_id, q=filters.q), pg)


@router.get("/regions/{region_id}", response={200: RegionOut, **ERRORS}, operation_id="get_region")
def get_region(request: HttpRequest, region_id: Id):
    return selectors.region(request.user, region_id)


@router.post("/regions", response={201: RegionOut, **ERRORS}, operation_id="create_region")
def create_region(request: HttpRequest, payload: RegionIn):
    parent = selectors.region(request.user, payload.parent_id) if payload.parent_id else None
    region = services.create_region(actor=request.user, level=payload.level, code=payload.code, name=payload.name,
                                    parent=parent)
    return Status(201, region)


class GridOut(Schema):
    id: int
    community_id: int
    code: str
    name: str


@router.get("/grids", response={200: paged(GridOut), **ERRORS}, operation_id="list_grids")
def list_grids(request: HttpRequest, pg: Query[PageQuery], community_id: Id | None = None):
    return page(selectors.grids(request.user, community_id=community_id), pg)


@router.get("/grids/{grid_id}", response={200: GridOut, **ERRORS}, operation_id="get_grid")
def get_grid(request: HttpRequest, grid_id: Id):
    return selectors.grid(request.user, grid_id)


class CompoundOut(Schema):
    id: int
    code: str
    name: str
    community_id: int
    community_name: str = Field(alias="community.name")
    grid_id: int | None
    property_company_id: int | None
    owners_committee_id: int | None
    year_built: int | None
    address: str
    standard_address: str
    boundary: list
    centre_lng: float | None
    centre_lat: float | None


class CompoundIn(Payload):
    community_id: Id
    name: str = Field(min_length=1, max_length=60)
    address: str = Field("", max_length=120)
    year_built: int | None = Field(None, ge=1900, le=2100)
    boundary: list[list[float]] = []
    grid_id: Id | None = None
    property_company_id: Id | None = None
    owners_committee_id: Id | None = None


class CompoundPatch(Payload):
    name: str = patch_field(min_length=1, max_length=60)
    address: str = patch_field(max_length=120)
    year_built: int | None = Field(None, ge=1900, le=2100)
    boundary: list[list[float]] = patch_field()


class CompoundFilter(Schema):
    community_id: Id | None = None
    region_id: Id | None = None
    property_company_id: Id | None = None
    q: str = ""


def _organisation(request: HttpRequest, org_id: int | None):
    if org_id is None:
        return None
    from linli.people import selectors as people

    return people.organisation(request.user, org_id)


@router.get("/compounds", response={200: paged(CompoundOut), **ERRORS}, operation_id="list_compounds")
def list_compounds(request: HttpRequest, filters: Query[CompoundFilter], pg: Query[PageQuery]):
    return page(selectors.compounds(request.user, **filters.dict()), pg)


@router.get("/compounds/{compound_id}", response={200: CompoundOut, **ERRORS}, operation_id="get_compound")
def get_compound(request: HttpRequest, compound_id: Id):
    return selectors.compound(request.user, compound_id)


@router.post("/compounds", response={201: CompoundOut, **ERRORS}, operation_id="create_compound")
def create_compound(request: HttpRequest, payload: CompoundIn):
    data = payload.dict()
    community = selectors.region(request.user, data.pop("community_id"))
    grid_id = data.pop("grid_id")
    data["grid"] = selectors.grid(request.user, grid_id) if grid_id else None
    data["property_company"] = _organisation(request, data.pop("property_company_id"))
    data["owners_committee"] = _organisation(request, data.pop("owners_committee_id"))
    return Status(201, services.create_compound(actor=request.user, community=community, **data))


@router.patch("/compounds/{compound_id}", response={200: CompoundOut, **ERRORS}, operation_id="update_compound")
def update_compound(request: HttpRequest, compound_id: Id, payload: CompoundPatch):
    compound = selectors.compound(request.user, compound_id)
    return services.update_compound(actor=request.user, compound=compound, **payload.dict(exclude_unset=True))


class BuildingOut(Schema):
    id: int
    compound_id: int
    number: str
    name: str
    floors_above: int
    floors_below: int
    unit_count: int
    height_m: Decimal | None
    footprint: list
    has_elevator: bool
    address_code: str
    standard_address: str


class BuildingIn(Payload):
    compound_id: Id
    number: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z\-]+$")
    name: str = Field("", max_length=30)
    floors_above: int = Field(ge=1, le=200)
    floors_below: int = Field(0, ge=0, le=10)
    unit_count: int = Field(1, ge=1, le=30)
    height_m: Decimal | None = Field(None, ge=0, le=1000)
    footprint: list[list[float]] = []
    has_elevator: bool = False


class BuildingPatch(Payload):
    name: str = patch_field(max_length=30)
    floors_above: int = patch_field(ge=1, le=200)
    floors_below: int = patch_field(ge=0, le=10)
    unit_count: int = patch_field(ge=1, le=30)
    height_m: Decimal | None = Field(None, ge=0, le=1000)
    footprint: list[list[float]] = patch_field()
    has_elevator: bool = patch_field()


@router.get("/buildings", response={200: paged(BuildingOut), **ERRORS}, operation_id="list_buildings")
def list_buildings(request: HttpRequest, pg: Query[PageQuery], compound_id: Id | None = None, q: str = ""):
    return page(selectors.buildings(request.user, compound_id=compound_id, q=q), pg)


@router.get("/buildings/{building_id}", response={200: BuildingOut, **ERRORS}, operation_id="get_building")
def get_building(request: HttpRequest, building_id: Id):
    return selectors.building(request.user, building_id)


@router.post("/buildings", response={201: BuildingOut, **ERRORS}, operation_id="create_building")
def create_building(request: HttpRequest, payload: BuildingIn):
    data = payload.dict()
    compound = selectors.compound(request.user, data.pop("compound_id"))
    return Status(201, services.create_building(actor=request.user, compound=compound, **data))


@router.patch("/buildings/{building_id}", response={200: BuildingOut, **ERRORS}, operation_id="update_building")
def update_building(request: HttpRequest, building_id: Id, payload: BuildingPatch):
    building = selectors.building(request.user, building_id)
    return services.update_building(actor=request.user, building=building, **payload.dict(exclude_unset=True))


@router.delete("/buildings/{building_id}", response={204: None, **ERRORS}, operation_id="delete_building")
def delete_building(request: HttpRequest, building_id: Id):
    services.delete_building(actor=request.user, building=selectors.building(request.user, building_id))
    return Status(204, None)


class UnitOut(Schema):
    id: int
    building_id: int
    compound_id: int
    number: str
    address_code: str
    standard_address: str
    house_count: int = 0


@router.get("/units", response={200: paged(UnitOut), **ERRORS}, operation_id="list_units")
def list_units(request: HttpRequest, pg: Query[PageQuery], building_id: Id | None = None):
    return page(selectors.units(request.user, building_id=building_id), pg)


@router.get("/units/{unit_id}", response={200: UnitOut, **ERRORS}, operation_id="get_unit")
def get_unit(request: HttpRequest, unit_id: Id):
    return selectors.unit(request.user, unit_id)


class HouseOut(Schema):
    id: int
    compound_id: int
    building_id: int
    building_number: str = Field(alias="building.number")
    unit_id: int
    unit_number: str = Field(alias="unit.number")
    number: str
    floor: int
    built_area: Decimal
    inner_area: Decimal | None
    use: HouseUse
    occupancy: Occupancy
    address_code: str
    standard_address: str


class HouseIn(Payload):
    unit_id: Id
    number: str = Field(min_length=1, max_length=10, pattern=r"^[0-9A-Za-z\-]+$")
    floor: int = Field(ge=-10, le=200)
    built_area: Decimal = Field(gt=0, le=100000, max_digits=8, decimal_places=2)
    inner_area: Decimal | None = Field(None, gt=0, le=100000, max_digits=8, decimal_places=2)
    use: HouseUse = HouseUse.RESIDENTIAL
    occupancy: Occupancy = Occupancy.OWNER_OCCUPIED


class HousePatch(Payload):
    floor: int = patch_field(ge=-10, le=200)
    built_area: Decimal = patch_field(gt=0, le=100000, max_digits=8, decimal_places=2)
    inner_area: Decimal | None = Field(None, gt=0, le=100000, max_digits=8, decimal_places=2)
    use: HouseUse = patch_field()
    occupancy: Occupancy = patch_field()


class HouseFilter(Schema):
    compound_id: Id | None = None
    building_id: Id | None = None
    unit_id: Id | None = None
    occupancy: Occupancy | None = None
    use: HouseUse | None = None
    q: str = ""


@router.get("/houses", response={200: paged(HouseOut), **ERRORS}, operation_id="list_houses")
def list_houses(request: HttpRequest, filters: Query[HouseFilter], pg: Query[PageQuery]):
    f = filters.dict()
    f["occupancy"] = f["occupancy"] or ""
    f["use"] = f["use"] or ""
    return page(selectors.houses(request.user, **f), pg)


@router.get("/houses/{house_id}", response={200: HouseOut, **ERRORS}, operation_id="get_house")
def get_house(request: HttpRequest, house_id: Id):
    return selectors.house(request.user, house_id)


@router.post("/houses", response={201: HouseOut, **ERRORS}, operation_id="create_house")
def create_house(request: HttpRequest, payload: HouseIn):
    data = payload.dict()
    unit = selectors.unit(request.user, data.pop("unit_id"))
    return Status(201, services.create_house(actor=request.user, unit=unit, **data))


@router.patch("/houses/{house_id}", response={200: HouseOut, **ERRORS}, operation_id="update_house")
def update_house(request: HttpRequest, house_id: Id, payload: HousePatch):
    house = selectors.house(request.user, house_id)
    return services.update_house(actor=request.user, house=house, **payload.dict(exclude_unset=True))


@router.delete("/houses/{house_id}", response={204: None, **ERRORS}, operation_id="delete_house")
def delete_house(request: HttpRequest, house_id: Id):
    services.delete_house(actor=request.user, house=selectors.house(request.user, house_id))
    return Status(204, None)
