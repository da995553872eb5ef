"""Reads of notices for a user, always scoped: what they may read, one notice, the read rate for
staff and a reader's unread count."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core.errors import Forbidden
from linli.core.scope import scope_of
from linli.core.selectors import get_visible
from linli.core.services import require
from linli.notices.models import Notice, NoticeAudience, NoticeRead, NoticeStatus


def _with_own_read(qs: QuerySet[Notice], user: Any) -> QuerySet[Notice]:
    mine = NoticeRead.objects.filter(notice=OuterRef("pk"), reader_id=getattr(user, "pk", None))
    return qs.annotate(read_at=Subquery(mine.values("read_at")[:1]))


def notices_for(user: Any, *, compound_id: int | None = None, status: str = "", category: str = "",
                building_id: int | None = None) -> QuerySet[Notice]:
    """A resident: published, unexpired notices to the compound, building or unit of a current
    household, never role-only ones. Staff: every notice of their compounds, in every state.
    Pinned first, then the newest; each row carries the user's own `read_at`."""
    qs = Notice.objects.restrict(user, "view")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if building_id:
        qs = qs.filter(building_id=building_id)
    return _with_own_read(qs, user).order_by("-pinned", F("published_at").desc(nulls_last=True), "-id")


def notice(user: Any, pk: int) -> Notice:
    return get_visible(_with_own_read(Notice.objects.all(), user), user, pk)


def _addressed_to(user: Any) -> Q:
    """Published, unexpired notices meant for `user`: for staff, place notices and those naming a role
    they hold; residents' reach is already the scope's."""
    live = Q(status=NoticeStatus.PUBLISHED) & (Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    scope = scope_of(user)
    if any(g.is_resident for g in scope.grants):
        return live
    roles = Q(pk__in=[])
    for role in scope.roles:
        roles |= Q(roles__contains=f",{role},")
    return live & (~Q(audience=NoticeAudience.ROLES) | roles)


def unread_count(user: Any) -> int:
    read = NoticeRead.objects.filter(notice=OuterRef("pk"), reader_id=getattr(user, "pk", None))
    return (Notice.objects.restrict(user, "view").filter(_addressed_to(user))
            .exclude(Exists(read)).count())


def read_figures(user: Any, notice: Notice) -> tuple[int, int]:
    """(readers among the audience, audience size) of a notice, for staff of its compound."""
    from linli.notices.services import audience_of
    from linli.notify.services import resolve_recipients

    require(user, notice, "view")
    if not _staff_of(user, notice):
        raise Forbidden(_("无权查看阅读情况"))
    audience = {r.user_id for r in resolve_recipients(notice.compound_id, audience_of(notice))}
    readers = set(NoticeRead.objects.filter(notice=notice).values_list("reader_id", flat=True))
    return len(readers & audience), len(audience)


def _staff_of(user: Any, notice: Notice) -> bool:
    from linli.core.services import compounds_where
    from linli.places.models import Compound

    return Compound.objects.filter(compounds_where(user, "notices.view_noticeread"), pk=notice.compound_id).exists()
