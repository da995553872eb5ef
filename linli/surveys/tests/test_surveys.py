"""Surveys put to residents: answered once, answers checked against the questions, results
published to residents when the survey closes, anonymity that still stops a second answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from linli.core.errors import Conflict, Forbidden, NotFound
from linli.core.tests.apiclient import ApiClient
from linli.surveys import selectors, services
from linli.surveys.models import SurveyResponse, SurveyStatus

QUESTIONS = [
    {"key": "parking", "text": "您是否支持将东侧绿地改建为停车位？", "kind": "single", "options": ["支持", "反对"]},
    {"key": "concerns", "text": "您最关心的问题", "kind": "multiple", "options": ["停车", "绿化", "安全"],
     "required": False},
    {"key": "service", "text": "对物业服务的评分", "kind": "rating"},
    {"key": "advice", "text": "献计献策", "kind": "text", "required": False},
]


def _open_survey(side, *, anonymous=False, building=None, closes_in=dt.timedelta(days=7)):
    manager = side.users["property_manager"]
    survey = services.create_survey(actor=manager, compound=side.compound, title="停车改造意见征集",
                                    questions=QUESTIONS, closes_at=timezone.now() + closes_in,
                                    anonymous=anonymous, building=building)
    return services.open_survey(actor=manager, survey=survey)


def test_a_resident_answers_once_and_a_second_answer_is_refused(district):
    survey = _open_survey(district.a)
    resident = district.a.users["resident"]
    services.respond(actor=resident, survey=survey,
                     answers={"parking": "支持", "concerns": ["停车", "安全"], "service": 4})
    with pytest.raises(Conflict):
        services.respond(actor=resident, survey=survey, answers={"parking": "反对", "service": 1})
    assert SurveyResponse.objects.filter(survey=survey).count() == 1
    assert SurveyResponse.objects.get(survey=survey).answers["parking"] == "支持"


def test_answers_that_do_not_fit_their_questions_name_each_wrong_answer(district):
    survey = _open_survey(district.a)
    with pytest.raises(ValidationError) as refused:
        services.respond(actor=district.a.users["resident"], survey=survey,
                         answers={"parking": "都行", "concerns": ["停车", "停车"], "service": 6, "extra": 1})
    assert set(refused.value.message_dict) == {"answers.parking", "answers.concerns", "answers.service",
                                               "answers.extra"}
    assert not SurveyResponse.objects.exists()


def test_an_anonymous_survey_keeps_no_link_to_the_person_yet_stops_a_second_answer(district):
    survey = _open_survey(district.a, anonymous=True)
    resident = district.a.users["resident"]
    services.respond(actor=resident, survey=survey, answers={"parking": "反对", "service": 3})
    assert SurveyResponse.objects.get(survey=survey).respondent_id is None
    with pytest.raises(Conflict):
        services.respond(actor=resident, survey=survey, answers={"parking": "支持", "service": 5})
    assert services.has_responded(survey, resident.person)


def test_a_survey_of_one_compound_is_out_of_reach_for_another_compounds_residents(district):
    survey = _open_survey(district.a)
    with pytest.raises(NotFound):
        services.respond(actor=district.b.users["resident"], survey=survey, answers={"parking": "支持", "service": 5})
    assert not selectors.surveys(district.b.users["resident"]).filter(pk=survey.pk).exists()
    assert selectors.surveys(district.a.users["resident"]).filter(pk=survey.pk).exists()


def test_residents_read_the_results_when_the_survey_closes_and_never_the_free_text(district):
    survey = _open_survey(district.a)
    resident, manager = district.a.users["resident"], district.a.users["property_manager"]
    services.respond(actor=resident, survey=survey,
                     answers={"parking": "支持", "service": 5, "advice": "建议增设充电桩"})
    with pytest.raises(Forbidden):
        selectors.results(resident, survey.pk)
    live = selectors.results(manager, survey.pk)
    assert live["responses"] == 1 and live["questions"][0].counts == {"支持": 1, "反对": 0}
    services.close_survey(actor=manager, survey=survey)
    published = selectors.results(resident, survey.pk)
    by_key = {q.key: q for q in published["questions"]}
    assert by_key["service"].mean == 5 and by_key["concerns"].answered == 0
    assert by_key["advice"].answered == 1 and by_key["advice"].texts == []
    assert {q.key: q for q in selectors.results(manager, survey.pk)["questions"]}["advice"].texts == ["建议增设充电桩"]


def test_the_worker_closes_a_survey_at_its_closing_time_and_not_before(district):
    survey = _open_survey(district.a, closes_in=dt.timedelta(hours=1))
    assert services.close_due_surveys(now=timezone.now()) == 0
    assert services.close_due_surveys(now=timezone.now() + dt.timedelta(hours=2)) == 1
    assert services.close_due_surveys(now=timezone.now() + dt.timedelta(hours=2)) == 0
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.CLOSED


def test_bad_questions_are_refused_on_save_naming_the_question(district):
    with pytest.raises(ValidationError) as refused:
        services.create_survey(actor=district.a.users["property_manager"], compound=district.a.compound,
                               title="坏问卷", closes_at=timezone.now() + dt.timedelta(days=1),
                               questions=[{"key": "q", "text": "只有一个选项", "kind": "single", "options": ["是"]}])
    assert "questions.0" in refused.value.message_dict


def test_a_resident_cannot_organise_a_survey(district):
    with pytest.raises((Forbidden, NotFound)):
        services.create_survey(actor=district.a.users["resident"], compound=district.a.compound, title="自己发",
                               questions=QUESTIONS, closes_at=timezone.now() + dt.timedelta(days=1))


def test_the_api_takes_a_survey_from_draft_to_published_results(district):
    a = district.a
    staff, owner = ApiClient(a.users["property_manager"]), ApiClient(a.users["resident"])
    created = staff.post("/api/surveys", {"compound_id": a.compound.pk, "title": "绿化满意度",
                                          "questions": QUESTIONS,
                                          "closes_at": (timezone.now() + dt.timedelta(days=3)).isoformat()})
    assert created.status_code == 201, created.content
    survey_id = created.json()["id"]
    assert owner.get(f"/api/surveys/{survey_id}").status_code == 404  # a draft is not put to anyone yet
    assert staff.post(f"/api/surveys/{survey_id}/open").status_code == 200
    bad = owner.post(f"/api/surveys/{survey_id}/responses", {"answers": {"parking": "也许", "service": 3}})
    assert bad.status_code == 422 and "answers.parking" in bad.content.decode()
    good = owner.post(f"/api/surveys/{survey_id}/responses", {"answers": {"parking": "反对", "service": 3}})
    assert good.status_code == 201
    assert owner.post(f"/api/surveys/{survey_id}/responses", {"answers": {"parking": "反对", "service": 3}}
                      ).status_code == 409
    assert owner.get(f"/api/surveys/{survey_id}/results").status_code == 403
    assert staff.post(f"/api/surveys/{survey_id}/close").status_code == 200
    results = owner.get(f"/api/surveys/{survey_id}/results").json()
    assert results["responses"] == 1 and results["questions"][0]["counts"] == {"支持": 0, "反对": 1}


def test_survey_lists_take_the_same_queries_for_one_row_or_many(district, django_assert_max_num_queries):
    for _ in range(5):
        _open_survey(district.a)
    client = ApiClient(district.a.users["property_manager"])
    with django_assert_max_num_queries(10):
        listed = client.get("/api/surveys", limit=500)
    assert listed.status_code == 200 and listed.json()["count"] == 5
