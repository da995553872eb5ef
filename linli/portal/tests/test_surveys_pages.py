"""Surveys on the resident's phone: answer once through the form, see why an answer is refused,
and read the results after the survey closed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from linli.surveys import services
from linli.surveys.models import SurveyResponse
from linli.web.views.auth import backend_for

QUESTIONS = [
    {"key": "parking", "text": "是否支持改建停车位", "kind": "single", "options": ["支持", "反对"]},
    {"key": "concerns", "text": "最关心的问题", "kind": "multiple", "options": ["停车", "绿化"], "required": False},
    {"key": "service", "text": "物业服务评分", "kind": "rating"},
    {"key": "advice", "text": "献计献策", "kind": "text", "required": False},
]


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user, backend=backend_for(user))
        return client

    return make


@pytest.fixture
def survey(district):
    manager = district.a.users["property_manager"]
    draft = services.create_survey(actor=manager, compound=district.a.compound, title="停车改造意见征集",
                                   questions=QUESTIONS, closes_at=timezone.now() + dt.timedelta(days=3))
    return services.open_survey(actor=manager, survey=draft)


def test_a_resident_answers_a_survey_once_through_the_form(district, survey, client_for):
    client = client_for(district.a.users["resident"])
    listed = client.get("/m/surveys/")
    assert listed.status_code == 200 and "停车改造意见征集" in listed.content.decode()
    answered = client.post(f"/m/surveys/{survey.pk}/", {"q_parking": "支持", "q_concerns": ["停车", "绿化"],
                                                        "q_service": "4", "q_advice": "增设充电桩"})
    assert answered.status_code == 302
    stored = SurveyResponse.objects.get(survey=survey)
    assert stored.answers == {"parking": "支持", "concerns": ["停车", "绿化"], "service": 4, "advice": "增设充电桩"}
    again = client.get(f"/m/surveys/{survey.pk}/")
    assert 'id="answered"' in again.content.decode() and 'id="survey-form"' not in again.content.decode()
    twice = client.post(f"/m/surveys/{survey.pk}/", {"q_parking": "反对", "q_service": "1"})
    assert twice.status_code == 400 and SurveyResponse.objects.count() == 1


def test_a_missing_required_answer_is_named_next_to_its_question(district, survey, client_for):
    client = client_for(district.a.users["resident"])
    refused = client.post(f"/m/surveys/{survey.pk}/", {"q_parking": "支持"})
    assert refused.status_code == 400
    assert "此题必答" in refused.content.decode()
    assert not SurveyResponse.objects.exists()


def test_another_compounds_resident_gets_no_page_and_results_show_after_closing(district, survey, client_for):
    assert client_for(district.b.users["resident"]).get(f"/m/surveys/{survey.pk}/").status_code == 404
    client = client_for(district.a.users["resident"])
    client.post(f"/m/surveys/{survey.pk}/", {"q_parking": "反对", "q_service": "5"})
    services.close_survey(actor=district.a.users["property_manager"], survey=survey)
    page = client.get(f"/m/surveys/{survey.pk}/").content.decode()
    assert 'id="results"' in page and "平均 5" in page
