"""Surveys: draft, open, answer (once per resident), close. Organised by property managers,
customer service and community officers; answered by the residents they were put to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import crypto
from linli.core.errors import Conflict, Forbidden
from linli.core.services import field_error, require, require_in_compound, save_changes, save_new, service
from linli.places.models import Building, Compound
from linli.surveys.models import Survey, SurveyResponse, SurveyStatus
from linli.surveys.schema import checked_answers, validated_questions

DIGEST_CONTEXT = "surveys.respondent"


@service
def create_survey(*, actor: Any, compound: Compound, title: str, questions: list[dict[str, Any]],
                  closes_at: dt.datetime, description: str = "", building: Building | None = None,
                  anonymous: bool = False) -> Survey:
    require_in_compound(actor, Survey, "add", compound.pk)
    if building is not None and building.compound_id != compound.pk:
        raise field_error("building_id", _("楼栋不属于该小区"))
    if closes_at <= timezone.now():
        raise field_error("closes_at", _("截止时间须晚于现在"))
    survey = Survey(compound=compound, building=building, title=title.strip(), description=description,
                    questions=validated_questions(questions), anonymous=anonymous, closes_at=closes_at,
                    organiser=actor)
    return save_new(survey)


@service
def open_survey(*, actor: Any, survey: Survey) -> Survey:
    require(actor, survey, "change")
    if survey.status != SurveyStatus.DRAFT:
        raise Conflict(_("只有草稿状态的问卷可以发布"), field="status")
    now = timezone.now()
    if survey.closes_at <= now:
        raise field_error("closes_at", _("截止时间须晚于现在"))
    survey = save_changes(survey, {"status": SurveyStatus.OPEN, "opened_at": now})
    _announce(survey)
    return survey


def _announce(survey: Survey) -> None:
    from linli.notify.services import Audience, notify

    audience = (Audience(residents_of_building=survey.building_id) if survey.building_id
                else Audience(residents_of_compound=survey.compound_id))
    notify(compound_id=survey.compound_id, audience=audience, title=_("新问卷：%(title)s") % {"title": survey.title},
           body=survey.description[:200] or survey.title, category="notice", severity="info",
           source=f"survey:{survey.pk}", dedupe_key=f"survey:{survey.pk}:open", resolve_later=True,
           channels=("inbox", "webpush"))


@service
def close_survey(*, actor: Any, survey: Survey) -> Survey:
    require(actor, survey, "change")
    if survey.status != SurveyStatus.OPEN:
        raise Conflict(_("只有进行中的问卷可以结束"), field="status")
    return save_changes(survey, {"status": SurveyStatus.CLOSED, "closed_at": timezone.now()})


def close_due_surveys(now: dt.datetime | None = None) -> int:
    """The worker's job: close what has passed its closing time (safe to run twice)."""
    now = now or timezone.now()
    return Survey.objects.filter(status=SurveyStatus.OPEN, closes_at__lte=now).update(
        status=SurveyStatus.CLOSED, closed_at=now)


@service
def respond(*, actor: Any, survey: Survey, answers: dict[str, Any]) -> SurveyResponse:
    """A resident's answers, once per survey (a second try is refused, never merged)."""
    require(actor, survey, "view")
    person = getattr(actor, "person", None)
    if getattr(actor, "kind", "") != "resident" or person is None:
        raise Forbidden(_("只有居民可以填写问卷"))
    now = timezone.now()
    if survey.status != SurveyStatus.OPEN or survey.closes_at <= now:
        raise Conflict(_("问卷未在进行中"), field="status")
    clean = checked_answers(survey.questions, answers)
    response = SurveyResponse(compound_id=survey.compound_id, survey=survey,
                              respondent=None if survey.anonymous else person,
                              respondent_digest=crypto.digest(f"{survey.pk}:{person.pk}", context=DIGEST_CONTEXT),
                              answers=clean, submitted_at=now)
    try:
        with transaction.atomic():
            return save_new(response, exclude=("compound", "survey", "respondent"))
    except IntegrityError as exc:
        raise Conflict(_("您已填写过此问卷")) from exc


def has_responded(survey: Survey, person: Any) -> bool:
    digest = crypto.digest(f"{survey.pk}:{person.pk}", context=DIGEST_CONTEXT)
    return SurveyResponse.objects.filter(survey=survey, respondent_digest=digest).exists()
