"""Surveys (问卷调查, 献计献策) on the phone: what was put to the resident, answered once, and the
published results once a survey closes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.portal.views.common import resident_required, tabs
from linli.surveys import selectors, services
from linli.surveys.models import SurveyStatus


@resident_required
def survey_list(request):
    rows = selectors.surveys(request.user).select_related("compound")[:100]
    context = {"tabs": tabs("home"), "surveys": list(rows)}
    return render(request, "portal/surveys/list.html", context)


def _answers(request, questions) -> dict:
    """The form's fields as the survey's answers: lists for multiple choice, ints for ratings."""
    answers: dict = {}
    for q in questions:
        name = f"q_{q['key']}"
        if q["kind"] == "multiple":
            answers[q["key"]] = request.POST.getlist(name)
        elif q["kind"] == "rating":
            raw = request.POST.get(name, "")
            answers[q["key"]] = int(raw) if raw.isdigit() else (raw or None)
        else:
            answers[q["key"]] = request.POST.get(name, "")
    return answers


@require_http_methods(["GET", "POST"])
@resident_required
def survey_detail(request, pk: int):
    try:
        survey = selectors.survey(request.user, pk)
    except NotFound as exc:
        raise Http404 from exc
    errors: dict[str, list[str]] = {}
    error = ""
    if request.method == "POST":
        try:
            services.respond(actor=request.user, survey=survey, answers=_answers(request, survey.questions))
        except ValidationError as exc:
            errors = {key.removeprefix("answers."): messages for key, messages in exc.message_dict.items()}
        except (Conflict, Forbidden) as exc:
            error = str(exc)
        else:
            return redirect("portal:survey_detail", pk=survey.pk)
    answered = services.has_responded(survey, request.user.person)
    results = selectors.results(request.user, pk) if survey.status == SurveyStatus.CLOSED else None
    questions = [{**q, "errors": errors.get(q["key"], []), "scale": range(1, 6)} for q in survey.questions]
    context = {"tabs": tabs("home"), "survey": survey, "questions": questions, "answered": answered,
               "results": results, "error": error, "open": survey.status == SurveyStatus.OPEN and survey.closes_at > timezone.now()}
    return render(request, "portal/surveys/detail.html", context, status=400 if errors or error else 200)
