"""Turns a user's role grants into the `Scope` that `restrict()` filters with."""

from __future__ import annotations

from linli.accounts.models import AccountKind, RoleGrant, User
from linli.accounts.roles import PERMISSIONS, Role
from linli.core.scope import Grant, Scope
from linli.people.models import Residency
from linli.places.models import Compound, House


def build_scope(user: User) -> Scope:
    if user.is_superuser:
        return Scope(unrestricted=True, roles=frozenset({"superuser"}))
    if user.kind == AccountKind.RESIDENT:
        return _resident_scope(user)
    grants = []
    for g in RoleGrant.objects.filter(user=user).select_related("region", "grid"):
        grants.append(_grant(g))
    return Scope(grants=tuple(grants), roles=frozenset(g.role for g in grants))


def _grant(g: RoleGrant) -> Grant:
    perms = PERMISSIONS[g.role]
    if g.region_id:
        path = g.region.path
        compounds = Compound.objects.filter(region_path__startswith=path).values("id")
        return Grant(g.role, perms, compounds=compounds, region_path=path)
    if g.grid_id:
        compounds = Compound.objects.filter(grid_id=g.grid_id).values("id")
        return Grant(g.role, perms, compounds=compounds, region_path=None)
    if g.compound_id:
        return Grant(g.role, perms, compounds=Compound.objects.filter(id=g.compound_id).values("id"))
    compounds = Compound.objects.filter(property_company_id=g.organisation_id).values("id")
    return Grant(g.role, perms, compounds=compounds, organisation_id=g.organisation_id)


def _resident_scope(user: User) -> Scope:
    if user.person_id is None:
        return Scope()
    houses = House.objects.filter(
        id__in=Residency.objects.filter(person_id=user.person_id, until__isnull=True).values("house_id")
    ).values("id")
    compounds = House.objects.filter(id__in=houses).values("compound_id")
    grant = Grant(Role.RESIDENT, PERMISSIONS[Role.RESIDENT], compounds=compounds, person_id=user.person_id, houses=houses)
    return Scope(grants=(grant,), roles=frozenset({Role.RESIDENT}))
