"""Helpers for tests: notices on each side of the test district, made once through the services."""

from __future__ import annotations

from typing import Any

from linli.core.context import ChangeContext, change_context
from linli.notices.models import Notice, NoticeAudience, NoticeStatus

TITLE = "停水通知"


def side_records(side: Any) -> dict[str, Any]:
    """A published notice to the whole compound, a published one only for guards and a draft to the
    building; returns the compound-wide one as `notice`."""
    from linli.notices import services

    found = Notice.objects.filter(compound=side.compound, title=TITLE).first()
    if found is None:
        manager = side.users["property_manager"]
        with change_context(ChangeContext(source="test", actor="test")):
            found = services.publish_notice(actor=manager, notice=services.draft_notice(
                actor=manager, compound=side.compound, title=TITLE, body="3号楼明日9:00至12:00停水。",
                category="maintenance"))
            services.publish_notice(actor=manager, notice=services.draft_notice(
                actor=manager, compound=side.compound, title="门岗交接班须知", body="夜班22:00交接。",
                roles=("guard",)))
            services.draft_notice(actor=manager, compound=side.compound, title="电梯检修（草稿）", body="待定。",
                                  building=side.building)
    return {"notice": found}


def side_ids(side: Any) -> dict[str, set[int]]:
    return {"notice": set(Notice.objects.filter(compound=side.compound).values_list("pk", flat=True))}


def hidden_from_residents(side: Any) -> set[int]:
    """Notices of `side` that none of its residents may read: drafts and role-only ones."""
    qs = Notice.objects.filter(compound=side.compound)
    return set(qs.exclude(status=NoticeStatus.PUBLISHED).values_list("pk", flat=True)) | set(
        qs.filter(audience=NoticeAudience.ROLES).values_list("pk", flat=True))
