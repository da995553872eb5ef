"""Reads of work orders for a user, always scoped: lists, one order with its history, the pool a
technician may grab from, and SLA and satisfaction figures per compound and category."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from linli.core.errors import NotFound
from linli.core.selectors import get_visible
from linli.workorders.models import Category, DispatchMode, Status, WorkOrder, WorkOrderStep

FINISHED = (Status.DONE, Status.VISITED, Status.CLOSED)


def work_orders(user: Any, *, compound_id: int | None = None, status: str = "", kind: str = "",
                category_id: int | None = None, assignee_id: int | None = None) -> QuerySet[WorkOrder]:
    qs = WorkOrder.objects.restrict(user, "view").select_related("category", "assignee", "house", "building")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(category__kind=kind)
    if category_id:
        qs = qs.filter(category_id=category_id)
    if assignee_id:
        qs = qs.filter(assignee_id=assignee_id)
    return qs.order_by("-submitted_at", "-id")


def work_order(user: Any, pk: int) -> WorkOrder:
    return get_visible(WorkOrder.objects.select_related("category", "assignee", "house", "building"), user, pk)


PHOTO_LISTS = {"report": "report_photos", "completion": "photos"}


def photo_content(user: Any, order: WorkOrder | int, index: int, which: str = "report") -> tuple[bytes, str]:
    """One photo of an order the user may see (the reporter's or the completion's) and its content type.

    NotFound for an unknown list or index and for a photo no longer in the store; MediaUnavailable
    (an OSError) when the store cannot be reached."""
    from linli.events import media

    seen = work_order(user, order.pk if isinstance(order, WorkOrder) else order)
    field = PHOTO_LISTS.get(which)
    refs = getattr(seen, field) if field else None
    if not isinstance(refs, list) or not 0 <= index < len(refs) or not isinstance(refs[index], str):
        raise NotFound("photo")
    ref = refs[index]
    try:
        return media.read(ref), media.content_type(ref)
    except (media.MediaMissing, ValueError) as exc:
        raise NotFound("photo") from exc


def steps(user: Any, order: WorkOrder) -> QuerySet[WorkOrderStep]:
    return WorkOrderStep.objects.restrict(user, "view").filter(work_order_id=order.pk).select_related("actor")


def grab_pool(user: Any, *, compound_id: int | None = None) -> QuerySet[WorkOrder]:
    """Orders a technician may grab: accepted, nobody on them, in a grab category of their compounds."""
    qs = work_orders(user, compound_id=compound_id, status=Status.ACCEPTED).filter(
        assignee__isnull=True, category__dispatch_mode=DispatchMode.GRAB)
    return qs.order_by("deadline_at", "id")


def my_work(user: Any) -> QuerySet[WorkOrder]:
    """A technician's own open orders, the most urgent first."""
    return work_orders(user, assignee_id=user.pk).filter(
        status__in=(Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED)).order_by("deadline_at", "id")


def categories(user: Any, *, compound_id: int | None = None) -> QuerySet[Category]:
    qs = Category.objects.restrict(user, "view")
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    return qs


@dataclass(frozen=True)
class SlaFigures:
    """SLA and satisfaction of the orders submitted in a period, for one compound and category.

    on_time_rate: share of the finished orders done by their deadline; mean_*_s: seconds from
    submission to acceptance / completion; satisfaction: mean rating and share of ratings ≥ 4;
    visit_rate (回访率): share of the finished orders that had their follow-up visit. With
    `category_id` None the figures are the whole compound's."""

    compound_id: int
    category_id: int | None
    submitted: int
    finished: int
    on_time: int
    on_time_rate: float | None
    mean_accept_s: float | None
    mean_complete_s: float | None
    rated: int
    mean_rating: float | None
    satisfied_share: float | None
    visited: int
    visit_rate: float | None


def sla_figures(user: Any, *, since: dt.datetime, until: dt.datetime, compound_id: int | None = None,
                category_id: int | None = None, by_category: bool = True) -> list[SlaFigures]:
    """Per compound and category (or, `by_category=False`, per compound), one query whatever the size."""
    qs = work_orders(user, compound_id=compound_id, category_id=category_id).filter(
        submitted_at__gte=since, submitted_at__lt=until).exclude(status=Status.CANCELLED)
    rows = qs.order_by().values_list("compound_id", "category_id", "status", "submitted_at", "accepted_at",
                                     "done_at", "deadline_at", "rating", "visited_at")
    groups: dict[tuple[int, int | None], list[tuple]] = defaultdict(list)
    for row in rows:
        groups[(row[0], row[1] if by_category else None)].append(row[2:])
    return [_figures(key, items) for key, items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _figures(key: tuple[int, int | None], items: list[tuple]) -> SlaFigures:
    finished = [i for i in items if i[0] in FINISHED and i[3] is not None]
    on_time = [i for i in finished if i[3] <= i[4]]
    ratings = [i[5] for i in items if i[5] is not None]
    return SlaFigures(
        compound_id=key[0], category_id=key[1], submitted=len(items), finished=len(finished), on_time=len(on_time),
        on_time_rate=len(on_time) / len(finished) if finished else None,
        mean_accept_s=_mean([(i[2] - i[1]).total_seconds() for i in items if i[2] is not None]),
        mean_complete_s=_mean([(i[3] - i[1]).total_seconds() for i in finished]),
        rated=len(ratings), mean_rating=_mean([float(r) for r in ratings]),
        satisfied_share=sum(1 for r in ratings if r >= 4) / len(ratings) if ratings else None,
        visited=sum(1 for i in finished if i[6] is not None),
        visit_rate=sum(1 for i in finished if i[6] is not None) / len(finished) if finished else None,
    )
