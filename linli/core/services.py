"""Building blocks every app's services use: permission checks, audited save and delete.

Each public service is one transaction; these helpers are called inside it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.context import change_context, current_context
from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.scope import permission_name, scope_of

M = TypeVar("M", bound=models.Model)
P = ParamSpec("P")
R = TypeVar("R")


def service(func: Callable[P, R]) -> Callable[P, R]:
    """Mark a public write: one transaction, audited as done by its `actor`.

    A request already carries a context naming the user; a direct call (a command, a job,
    a test) gets one here, so the audit log always says who acted.
    """

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        actor = kwargs.get("actor")
        ctx = current_context()
        with transaction.atomic():
            if actor is not None and getattr(actor, "pk", None) and ctx.user_id != actor.pk:
                with change_context(user_id=actor.pk, actor=actor.get_username()):
                    return func(*args, **kwargs)
            return func(*args, **kwargs)

    return run


def compounds_where(user: Any, permission: str) -> Q:
    """A filter on Compound: the compounds where `user` holds `permission`."""
    scope = scope_of(user)
    if scope.unrestricted:
        return Q()
    q = Q(pk__in=[])
    for grant in scope.grants_for(permission):
        if grant.compounds is not None:
            q |= Q(pk__in=grant.compounds)
    return q


def require_in_compound(user: Any, model: type[models.Model], action: str, compound_id: int) -> None:
    from linli.places.models import Compound

    visible = Compound.objects.restrict(user, "view").filter(pk=compound_id).exists()
    if not visible:
        raise NotFound("compound")
    allowed = Compound.objects.filter(compounds_where(user, permission_name(model, action)), pk=compound_id)
    if not allowed.exists():
        raise Forbidden(_("无权在此小区执行该操作"))


def require(user: Any, instance: models.Model, action: str) -> None:
    """Raise unless `user` may `action` this saved record (view first, so we never leak existence)."""
    manager = type(instance)._default_manager
    if not manager.restrict(user, "view").filter(pk=instance.pk).exists():
        raise NotFound(instance._meta.model_name)
    if action != "view" and not manager.restrict(user, action).filter(pk=instance.pk).exists():
        raise Forbidden(_("无权对此记录执行该操作"))


def _integrity(exc: IntegrityError) -> Conflict:
    text = str(exc).lower()
    for hint, message in (
        ("unique", _("已存在相同的记录")),
        ("foreign key", _("该记录仍被其他记录引用")),
        ("protect", _("该记录仍被其他记录引用")),
    ):
        if hint in text:
            return Conflict(message)
    return Conflict(_("该修改违反了数据规则"))


def save_new(instance: M, *, exclude: Iterable[str] = (), check_constraints: bool = True) -> M:
    """Validate, insert and audit. `check_constraints=False` leaves the table's constraints to the
    database alone (a system write on a hot path that handles the Conflict itself)."""
    instance.full_clean(exclude=list(exclude), validate_constraints=check_constraints)
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError as exc:
        raise _integrity(exc) from exc
    audit.record_created([instance])
    return instance


def save_changes(instance: M, changes: dict[str, Any], *, exclude: Iterable[str] = ()) -> M:
    before = audit.snapshot(instance)
    for field, value in changes.items():
        setattr(instance, field, value)
    instance.full_clean(exclude=list(exclude), validate_constraints=True)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise _integrity(exc) from exc
    audit.record_updated(instance, before)
    return instance


def delete_audited(instance: models.Model) -> None:
    before = audit.snapshot(instance)
    pk = instance.pk
    try:
        with transaction.atomic():
            instance.delete()
    except (IntegrityError, models.ProtectedError, models.RestrictedError) as exc:
        raise Conflict(_("该记录仍被其他记录引用")) from exc
    instance.pk = pk
    audit.record_deleted(instance, before)


# A bulk insert this large changes the table enough that PostgreSQL's planner statistics mislead it
# (a street's COUNT went from 3 ms to 44 ms until ANALYZE ran; docs/benchmarks.md).
ANALYZE_AFTER_ROWS = 5000


def bulk_create_audited(model: type[M], instances: list[M], *, batch_size: int = 2000) -> list[M]:
    """Insert many rows and audit each one; callers validate rows first (imports, demo)."""
    try:
        created = model._default_manager.bulk_create(instances, batch_size=batch_size)
    except IntegrityError as exc:
        raise _integrity(exc) from exc
    audit.record_created(created)
    if len(created) >= ANALYZE_AFTER_ROWS:
        transaction.on_commit(lambda: refresh_statistics([model]))
    return created


def refresh_statistics(models_: list[type[models.Model]]) -> None:
    """ANALYZE the tables (PostgreSQL; SQLite plans well enough without it)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for model in models_:
            cur.execute(f'ANALYZE "{model._meta.db_table}"')


def field_error(field: str, message: Any, code: str = "invalid") -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code)]})
