"""The showcase compound's property services for the demo: repair categories, this month's
property fee, and for the demo residents a repair under way, a parcel waiting, a notice, a
survey and an owners' vote — so a newcomer's first look at the portal is a lived-in one.

Everything goes through the real services, as a property manager of the compound would do it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TextIO

from django.utils import timezone

from linli.accounts.models import AccountKind, User
from linli.people.models import Residency, ResidencyRole

# Work-order categories (data a manager edits later): code, kind, name, deadline and warning
# minutes, dispatch mode, skill, paid.
CATEGORIES = (
    ("plumbing", "repair", "水电维修", 240, 60, "grab", "", False),
    ("indoor_paid", "repair", "户内有偿维修", 24 * 60, 120, "assign", "", True),
    ("public_facility", "repair", "公共设施报修", 24 * 60, 120, "assign", "", False),
    ("complaint", "complaint", "投诉", 3 * 24 * 60, 12 * 60, "assign", "", False),
    ("suggestion", "suggestion", "建议", 7 * 24 * 60, 0, "assign", "", False),
)
PROPERTY_FEE_FEN_PER_M2 = 80  # 0.80 元/㎡·月, a typical fee for a renovated compound of this kind


def seed_property_services(*, manager: Any, compound: Any, out: TextIO) -> dict[str, int]:
    from linli.billing import services as billing
    from linli.workorders import services as workorders

    categories = {code: workorders.create_category(actor=manager, compound=compound, code=code, kind=kind,
                                                   name=name, deadline_minutes=deadline, warning_minutes=warning,
                                                   dispatch_mode=mode, required_skill=skill, paid=paid)
                  for code, kind, name, deadline, warning, mode, skill, paid in CATEGORIES}
    fee = billing.create_fee_item(actor=manager, compound=compound, name="物业服务费", kind="per_area_monthly",
                                  unit_price_fen=PROPERTY_FEE_FEN_PER_M2, due_days=15)
    today = timezone.localdate()
    run = billing.run_bills(actor=manager, compound=compound, fee_item=fee, period=f"{today:%Y-%m}")
    residents = list(User.objects.filter(kind=AccountKind.RESIDENT, person__compound=compound)
                     .select_related("person").order_by("id"))
    counts = {"categories": len(categories), "bills": len(getattr(run, "bills", []) or [])}
    for user in residents:
        house = _house_of(user)
        if house is None:
            continue
        workorders.submit(actor=user, compound=compound, category=categories["plumbing"], house=house,
                          title="卫生间下水慢", description="卫生间地漏下水很慢，麻烦师傅看看。")
        counts["work_orders"] = counts.get("work_orders", 0) + 1
        counts["parcels"] = counts.get("parcels", 0) + _parcel(compound, house)
    _notice_survey_and_vote(manager, compound, counts)
    out.write(f"  property services: {', '.join(f'{k} {v}' for k, v in counts.items())}\n")
    return counts


def _house_of(user: Any) -> Any:
    today = timezone.localdate()
    residency = (Residency.objects.filter(person=user.person, since__lte=today, until__isnull=True)
                 .select_related("house").order_by("role", "id").first())
    return residency.house if residency else None


def _parcel(compound: Any, house: Any) -> int:
    from linli.parcels import services as parcels

    guard = User.objects.filter(username="guard").first()
    if guard is None:
        return 0
    parcels.register_parcel(actor=guard, house=house, courier="顺丰速运", tracking_no="SF1234567890123",
                            position="门岗货架 A-3")
    return 1


def _notice_survey_and_vote(manager: Any, compound: Any, counts: dict[str, int]) -> None:
    from linli.notices import services as notices
    from linli.surveys import services as surveys
    from linli.votes import services as votes

    now = timezone.now()
    notice = notices.draft_notice(actor=manager, compound=compound, title="二次供水水箱清洗停水通知",
                                  body="本周六 9:00—13:00 清洗二次供水水箱，届时高区暂停供水，请提前储水。",
                                  category="maintenance")
    notices.publish_notice(actor=manager, notice=notice)
    survey = surveys.create_survey(
        actor=manager, compound=compound, title="东侧绿地改建停车位意见征集", closes_at=now + dt.timedelta(days=14),
        questions=[{"key": "support", "text": "您是否支持将东侧绿地部分改建为停车位？", "kind": "single",
                    "options": ["支持", "反对", "无所谓"]},
                   {"key": "service", "text": "您对物业服务的总体评分", "kind": "rating"},
                   {"key": "advice", "text": "献计献策", "kind": "text", "required": False}])
    surveys.open_survey(actor=manager, survey=survey)
    owners = Residency.objects.filter(house__compound=compound, role=ResidencyRole.OWNER).exists()
    if owners:
        vote = votes.create_vote(actor=manager, compound=compound, title="续聘阜康物业服务有限公司",
                                 closes_at=now + dt.timedelta(days=21),
                                 description="物业服务合同明年到期，是否续聘现物业服务企业。")
        votes.open_vote(actor=manager, vote=vote)
    counts.update(notices=1, surveys=1, votes=1 if owners else 0)
