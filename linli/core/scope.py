"""The single choke point for object-level authorization.

A user's `Scope` is a list of `Grant`s (a role's permissions on a node of the place
tree). Every user-facing read and write filters through `ScopedQuerySet.restrict`,
the way NetBox's `RestrictedQuerySet.restrict(user, action)` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Q


@dataclass(frozen=True)
class Grant:
    """One role held on one node. Exactly one of the node fields describes reach."""

    role: str
    permissions: frozenset[str]
    compounds: Any = None  # queryset of Compound ids reachable through this grant
    region_path: str | None = None  # for region-level records (regions, grids, organisations)
    organisation_id: int | None = None
    person_id: int | None = None  # a resident's own person
    houses: Any = None  # queryset of House ids of a resident's households

    @property
    def is_resident(self) -> bool:
        return self.person_id is not None


@dataclass(frozen=True)
class Scope:
    grants: tuple[Grant, ...] = ()
    unrestricted: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    def allows(self, permission: str) -> bool:
        return self.unrestricted or any(permission in g.permissions for g in self.grants)

    def grants_for(self, permission: str) -> list[Grant]:
        return [g for g in self.grants if permission in g.permissions]


NOBODY = Scope()


def permission_name(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def scope_of(user: Any) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        return NOBODY
    return user.scope()


class ScopedQuerySet(models.QuerySet):
    def restrict(self, user: Any, action: str = "view") -> ScopedQuerySet:
        """Rows `user` may `action` (view, add, change, delete, reveal); none when unsure."""
        scope = scope_of(user)
        if scope.unrestricted:
            return self
        grants = scope.grants_for(permission_name(self.model, action))
        condition = Q(pk__in=[])
        for grant in grants:
            q = self.model.scope_q(grant)
            if q is not None:
                condition |= q
        return self.filter(condition)


class ScopedModel(models.Model):
    """A record that belongs to a compound (the usual case) and is visible through it."""

    # Path from this model to its compound's id, e.g. "compound" or "house__compound".
    scope_compound = "compound"

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def scope_q(cls, grant: Grant) -> Q | None:
        if grant.is_resident:
            return cls.resident_q(grant)
        if grant.compounds is None:
            return None
        return Q(**{f"{cls.scope_compound}__in": grant.compounds})

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        """What a resident sees of this model; nothing unless a model says otherwise."""
        return None
