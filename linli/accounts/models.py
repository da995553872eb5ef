"""Identities: staff and resident accounts, roles granted on nodes, API tokens, one-time codes."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.accounts.roles import PERMISSIONS, Role
from linli.core.scope import Grant, Scope, ScopedQuerySet


class AccountKind(models.TextChoices):
    STAFF = "staff", _("工作人员")
    RESIDENT = "resident", _("居民")


class LinliUserManager(UserManager.from_queryset(ScopedQuerySet)):
    pass


class User(AbstractUser):
    """An account. Staff log in with a password; residents with their phone and a one-time code."""

    kind = models.CharField(max_length=10, choices=AccountKind.choices, default=AccountKind.STAFF)
    person = models.OneToOneField(
        "people.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="account"
    )
    display_name = models.CharField(max_length=60, blank=True)
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    objects = LinliUserManager()
    audit_exclude = ("password", "last_login", "failed_logins", "locked_until")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username

    def scope(self) -> Scope:
        """The user's grants, cached for the life of this object (one request)."""
        cached = getattr(self, "_linli_scope", None)
        if cached is None:
            from linli.accounts.scopes import build_scope

            cached = self._linli_scope = build_scope(self)
        return cached

    def has_linli_perm(self, permission: str) -> bool:
        return self.scope().allows(permission)

    @classmethod
    def scope_q(cls, grant: Grant) -> Q | None:
        """Staff whose grants lie inside the node this grant reaches; residents are not managed here."""
        if grant.is_resident:
            return Q(pk=-1)
        nodes = Q(pk__in=[])
        if grant.region_path:
            p = grant.region_path
            nodes |= (Q(region__path__startswith=p) | Q(grid__region_path__startswith=p)
                      | Q(compound__region_path__startswith=p) | Q(organisation__region_path__startswith=p))
        elif grant.compounds is not None:
            nodes |= Q(compound__in=grant.compounds)
            if grant.organisation_id:
                nodes |= Q(organisation_id=grant.organisation_id)
        return Q(kind=AccountKind.STAFF, pk__in=RoleGrant.objects.filter(nodes).values("user_id"))


class RoleGrant(models.Model):
    """RoleGrant — 授权: one role on one node (region, grid, compound or organisation)."""

    objects = ScopedQuerySet.as_manager()

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=20, choices=Role.choices)
    region = models.ForeignKey("places.Region", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    grid = models.ForeignKey("places.Grid", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey("places.Compound", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(
        "people.Organisation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="grant_on_exactly_one_node",
                condition=(
                    Q(region__isnull=False, grid__isnull=True, compound__isnull=True, organisation__isnull=True)
                    | Q(region__isnull=True, grid__isnull=False, compound__isnull=True, organisation__isnull=True)
                    | Q(region__isnull=True, grid__isnull=True, compound__isnull=False, organisation__isnull=True)
                    | Q(region__isnull=True, grid__isnull=True, compound__isnull=True, organisation__isnull=False)
                ),
            ),
        ]

    def __str__(self) -> str:
        node = self.region or self.grid or self.compound or self.organisation
        return f"{self.get_role_display()} @ {node}"

    @property
    def permissions(self) -> frozenset[str]:
        return PERMISSIONS[self.role]

    @classmethod
    def scope_q(cls, grant: Grant) -> Q | None:
        return Q(user__in=User.objects.filter(User.scope_q(grant)).values("pk"))

    def audit_place(self) -> tuple[int | None, str]:
        node = self.region or self.grid or self.compound or self.organisation
        path = getattr(node, "path", None) or getattr(node, "region_path", "") or ""
        return self.compound_id, path


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """ApiToken — for apps and integrations. Only the digest is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    audit_exclude = ("digest", "last_used_at")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_raw() -> str:
        return "ll_" + secrets.token_urlsafe(32)


class OneTimeCode(models.Model):
    """A login code sent to a resident's phone; stored hashed, single use, few attempts."""

    phone_digest = models.CharField(max_length=64, db_index=True)
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
