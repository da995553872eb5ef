"""Reads of surveys for a user, always scoped; results counted in the database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from linli.core.errors import Forbidden
from linli.core.selectors import get_visible
from linli.core.services import compounds_where
from linli.places.models import Compound
from linli.surveys.models import Survey, SurveyResponse, SurveyStatus


def surveys(user: Any, *, compound_id: int | None = None, status: str = "") -> QuerySet[Survey]:
    rows = Survey.objects.restrict(user, "view").annotate(response_count=Count("responses"))
    if compound_id is not None:
        rows = rows.filter(compound_id=compound_id)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-id")


def survey(user: Any, pk: int) -> Survey:
    return get_visible(Survey.objects.all(), user, pk)


@dataclass
class QuestionResult:
    key: str
    text: str
    kind: str
    answered: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # choice questions: per option
    mean: float | None = None  # rating questions
    texts: list[str] = field(default_factory=list)  # text questions (staff only)


def results(user: Any, pk: int) -> dict[str, Any]:
    """Counts per option and mean ratings. Residents see them once the survey closed; text answers
    (which may name people) only the organisers of the compound read."""
    item = survey(user, pk)
    may_organise = Compound.objects.filter(compounds_where(user, "surveys.change_survey"),
                                           pk=item.compound_id).exists()
    if not may_organise and item.status != SurveyStatus.CLOSED:
        raise Forbidden(_("问卷结束后公布结果"))
    answers = list(SurveyResponse.objects.filter(survey=item).values_list("answers", flat=True))
    out = []
    for q in item.questions:
        result = QuestionResult(key=q["key"], text=q["text"], kind=q["kind"])
        values = [a[q["key"]] for a in answers if q["key"] in a]
        result.answered = len(values)
        if q["kind"] == "single":
            tally = Counter(values)
            result.counts = {option: tally.get(option, 0) for option in q["options"]}
        elif q["kind"] == "multiple":
            tally = Counter(v for chosen in values for v in chosen)
            result.counts = {option: tally.get(option, 0) for option in q["options"]}
        elif q["kind"] == "rating":
            result.mean = round(sum(values) / len(values), 2) if values else None
        elif may_organise:
            result.texts = values
        out.append(result)
    return {"survey": item, "responses": len(answers), "questions": out}
