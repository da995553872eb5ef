"""Who gets a work order (派单): the technicians of a compound, round robin among those a category
needs, and automatic choice by skill and load. Services call these inside their transaction."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from linli.workorders.models import Category, DispatchMode, Status, TechnicianSkill

TECHNICIAN = "technician"
OPEN_WORK = (Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED)


def technicians_of(compound_id: int) -> QuerySet:
    """Active staff holding the technician role on the compound or on its property company."""
    from linli.accounts.models import AccountKind, RoleGrant, User
    from linli.places.models import Compound

    company = Compound.objects.filter(pk=compound_id).values("property_company_id")
    grants = RoleGrant.objects.filter(Q(compound_id=compound_id) | Q(organisation_id__in=company), role=TECHNICIAN)
    return User.objects.filter(pk__in=grants.values("user_id"), is_active=True, kind=AccountKind.STAFF)


def is_technician(user: Any, compound_id: int) -> bool:
    return technicians_of(compound_id).filter(pk=getattr(user, "pk", None)).exists()


def qualified(category: Category) -> QuerySet:
    """The category's technicians: those of its compound, with its required skill when it names one."""
    users = technicians_of(category.compound_id)
    if category.required_skill:
        skilled = TechnicianSkill.objects.filter(compound_id=category.compound_id, skill=category.required_skill)
        users = users.filter(pk__in=skilled.values("user_id"))
    return users.order_by("pk")


def next_in_turn(category: Category) -> Any | None:
    """Round robin: the technician after the last one served (by id, wrapping round).

    The caller holds the category row locked, so two orders never take the same turn; the pointer
    is a column, so the turn survives restarts."""
    users = qualified(category)
    after = users.filter(pk__gt=category.last_assignee_id).first() if category.last_assignee_id else None
    return after or users.first()


def least_loaded(category: Category) -> Any | None:
    """Automatic by skill: the qualified technician with the fewest open orders (then by id)."""
    return (qualified(category)
            .annotate(open_orders=Count("assigned_work_orders", filter=Q(assigned_work_orders__status__in=OPEN_WORK)))
            .order_by("open_orders", "pk").first())


def automatic_choice(category: Category) -> Any | None:
    """The technician this category's dispatch mode picks, or None when staff choose (assign, grab)."""
    if category.dispatch_mode == DispatchMode.ROUND_ROBIN:
        return next_in_turn(category)
    if category.dispatch_mode == DispatchMode.SKILL:
        return least_loaded(category)
    return None
