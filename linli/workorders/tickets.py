"""Governance tickets from outside (12345 hotline tickets, grid events) filed as work orders in bulk.

The sheet reader (the exchange app's "work_orders" import) turns rows into `Ticket`s; here they
are checked as a whole — every reason a row is bad is reported, and nothing is written unless
every row is good — then filed. A ticket is known by its external number within its compound
(`source_key` "ticket:<compound>:<number>"), so importing the same sheet again files nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.core.errors import Conflict
from linli.core.services import compounds_where, service
from linli.workorders.models import Category, Status, WorkOrder

# Filing hotline tickets in bulk is dispatchers' work (customer service, property managers).
PERMISSION = "workorders.dispatch_workorder"


class TicketSource(models.TextChoices):
    """Where an imported ticket came from; each is filed under its own channel."""

    HOTLINE_12345 = "hotline_12345", gettext_lazy("12345热线")  # Channel.HOTLINE_12345
    GRID_EVENT = "import", gettext_lazy("网格事件")  # Channel.IMPORT


@dataclass
class Ticket:
    """One row of a ticket sheet, already read; `house_id` when the row named a house."""

    row: int
    compound_id: int
    category_code: str
    title: str
    external_no: str
    reported_at: dt.datetime
    description: str = ""
    house_id: int | None = None
    place: str = ""
    source: str = TicketSource.HOTLINE_12345


@dataclass
class TicketCheck:
    """The rows to file, those filed before (skipped), and every reason a row is bad: (row, field, message)."""

    to_file: list[tuple[Ticket, Category]] = field(default_factory=list)
    known: list[Ticket] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def source_key(compound_id: int, external_no: str) -> str:
    return f"ticket:{compound_id}:{external_no}"[:120]


def check_tickets(*, actor: Any, tickets: list[Ticket], now: dt.datetime | None = None) -> TicketCheck:
    """Every row checked, in a few queries whatever their number; nothing written."""
    from linli.places.models import Compound, House

    now = now or timezone.now()
    result = TicketCheck()
    compound_ids = {t.compound_id for t in tickets}
    allowed = set(Compound.objects.filter(compounds_where(actor, PERMISSION), pk__in=compound_ids)
                  .values_list("pk", flat=True))
    categories = {(c.compound_id, c.code): c for c in Category.objects.filter(compound_id__in=allowed)}
    keys = {source_key(t.compound_id, t.external_no) for t in tickets}
    filed = set(WorkOrder.objects.filter(source_key__in=keys).values_list("source_key", flat=True))
    houses = set(House.objects.filter(compound_id__in=allowed, pk__in={t.house_id for t in tickets if t.house_id})
                 .values_list("pk", flat=True))
    seen: dict[str, int] = {}
    for t in tickets:
        bad = _ticket_errors(t, allowed, categories, houses, seen, now)
        result.errors.extend(bad)
        if bad:
            continue
        if source_key(t.compound_id, t.external_no) in filed:
            result.known.append(t)
        else:
            result.to_file.append((t, categories[(t.compound_id, t.category_code)]))
    return result


def _ticket_errors(t: Ticket, allowed: set[int], categories: dict, houses: set[int], seen: dict[str, int],
                   now: dt.datetime) -> list[tuple[int, str, str]]:
    errors: list[tuple[int, str, str]] = []
    if t.compound_id not in allowed:
        return [(t.row, "compound", _("无权在此小区导入工单"))]
    category = categories.get((t.compound_id, t.category_code))
    if category is None or not category.active:
        errors.append((t.row, "category", _("本小区没有编码为“%(code)s”的启用类别") % {"code": t.category_code}))
    if not t.title.strip():
        errors.append((t.row, "title", _("请填写标题")))
    if not t.external_no.strip():
        errors.append((t.row, "external_no", _("请填写外部工单号")))
    else:
        key = source_key(t.compound_id, t.external_no)
        if key in seen:
            errors.append((t.row, "external_no", _("与第%(row)s行重复") % {"row": seen[key]}))
        seen.setdefault(key, t.row)
    if t.house_id is not None and t.house_id not in houses:
        errors.append((t.row, "house", _("房屋不属于本小区")))
    if t.house_id is None and not t.place.strip():
        errors.append((t.row, "place", _("请填写房屋或地点")))
    if t.reported_at > now:
        errors.append((t.row, "reported_at", _("报事时间不能晚于现在")))
    if t.source not in TicketSource.values:
        errors.append((t.row, "source", _("来源无效")))
    return errors


@service
def import_tickets(*, actor: Any, tickets: list[Ticket]) -> list[WorkOrder]:
    """File every new ticket as a submitted order whose SLA clock started when it was reported.

    All or nothing: a bad row raises Conflict naming it and nothing is written; tickets filed by an
    earlier import are skipped. Returns the orders filed now."""
    from linli.workorders.services import _new_order, _step

    checked = check_tickets(actor=actor, tickets=tickets)
    if not checked.ok:
        row, _field, message = checked.errors[0]
        raise Conflict(_("第%(row)s行：%(reason)s") % {"row": row, "reason": message}, field=_field)
    from linli.places.models import House

    house_of = {h.pk: h for h in House.objects.filter(pk__in={t.house_id for t, _c in checked.to_file if t.house_id})}
    filed = []
    for t, category in checked.to_file:
        order = _new_order(compound_id=t.compound_id, category=category, title=t.title[:120],
                           description=t.description[:2000], house=house_of.get(t.house_id), place=t.place[:120],
                           channel=t.source, submitted_at=t.reported_at,
                           source_key=source_key(t.compound_id, t.external_no),
                           details={"external_no": t.external_no, "source": str(t.source)})
        _step(order, "submit", "", Status.SUBMITTED, actor=actor, details={"external_no": t.external_no})
        filed.append(order)
    return filed
