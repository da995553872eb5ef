"""Helpers for tests: on each side of the test district a draft survey and an open one the resident
has answered, all through the real services; made once, found again after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from linli.surveys.models import Survey, SurveyStatus

DRAFT_TITLE = "垃圾分类意见（草稿）"
OPEN_TITLE = "停车改造意见征集"
QUESTIONS = [{"key": "parking", "text": "是否支持改建停车位", "kind": "single", "options": ["支持", "反对"]}]


def add_surveys(d: Any) -> Any:
    from linli.core.context import ChangeContext, change_context
    from linli.surveys import services

    with change_context(ChangeContext(source="test", actor="test")):
        for s in (d.a, d.b):
            if Survey.objects.filter(compound=s.compound, title=OPEN_TITLE).exists():
                continue
            manager = s.users["property_manager"]
            closes = timezone.now() + dt.timedelta(days=30)
            services.create_survey(actor=manager, compound=s.compound, title=DRAFT_TITLE, questions=QUESTIONS,
                                   closes_at=closes)
            survey = services.open_survey(actor=manager, survey=services.create_survey(
                actor=manager, compound=s.compound, title=OPEN_TITLE, questions=QUESTIONS, closes_at=closes))
            services.respond(actor=s.users["resident"], survey=survey, answers={"parking": "支持"})
    return d


def side_records(side: Any) -> dict[str, Any]:
    return {"survey": Survey.objects.get(compound=side.compound, title=OPEN_TITLE, status=SurveyStatus.OPEN),
            "draft_survey": Survey.objects.get(compound=side.compound, title=DRAFT_TITLE)}


def side_ids(side: Any) -> dict[str, set[int]]:
    """Ids a user of the other side must never see."""
    return {"survey": set(Survey.objects.filter(compound=side.compound).values_list("pk", flat=True))}
