"""REST endpoints for surveys (/api/surveys/…): list, detail, create, open, close, respond, results.

Thin: reads through `linli.surveys.selectors`, writes through `linli.surveys.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, IsoDateTime, PageQuery, Payload, page, paged
from linli.places import selectors as places
from linli.surveys import selectors, services
from linli.surveys.models import SurveyStatus

router = Router(tags=["surveys"])


class QuestionIn(Payload):
    key: str = Field(min_length=1, max_length=30, pattern=r"^[a-z0-9_]+$")
    text: str = Field(min_length=1, max_length=200)
    kind: Literal["single", "multiple", "text", "rating"]
    options: list[str] = Field(default_factory=list, max_length=20)
    required: bool = True


class SurveyIn(Payload):
    compound_id: Id
    building_id: Id | None = None
    title: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    questions: list[QuestionIn] = Field(min_length=1, max_length=50)
    closes_at: IsoDateTime
    anonymous: bool = False


class SurveyOut(Schema):
    id: int
    compound_id: int
    building_id: int | None
    title: str
    description: str
    questions: list[dict[str, Any]]
    anonymous: bool
    status: SurveyStatus
    closes_at: dt.datetime
    opened_at: dt.datetime | None
    closed_at: dt.datetime | None
    response_count: int = 0


class SurveyFilter(Schema):
    compound_id: Id | None = None
    status: SurveyStatus | None = None


class ResponseIn(Payload):
    answers: dict[str, Any]


class ResponseOut(Schema):
    id: int
    survey_id: int
    answers: dict[str, Any]
    submitted_at: dt.datetime


class QuestionResultOut(Schema):
    key: str
    text: str
    kind: str
    answered: int
    counts: dict[str, int]
    mean: float | None
    texts: list[str]


class SurveyResultsOut(Schema):
    survey_id: int
    responses: int
    questions: list[QuestionResultOut]


def _survey(request: HttpRequest, survey_id: int):
    return selectors.survey(request.user, survey_id)


@router.get("", response={200: paged(SurveyOut), **ERRORS}, operation_id="list_surveys")
def list_surveys(request: HttpRequest, filters: Query[SurveyFilter], pg: Query[PageQuery]):
    f = filters.dict()
    return page(selectors.surveys(request.user, compound_id=f["compound_id"], status=f["status"] or ""), pg)


@router.get("/{survey_id}", response={200: SurveyOut, **ERRORS}, operation_id="get_survey")
def get_survey(request: HttpRequest, survey_id: Id):
    return _survey(request, survey_id)


@router.post("", response={201: SurveyOut, **ERRORS}, operation_id="create_survey")
def create_survey(request: HttpRequest, payload: SurveyIn):
    fields = payload.dict()
    compound = places.compound(request.user, fields.pop("compound_id"))
    building_id = fields.pop("building_id")
    building = places.building(request.user, building_id) if building_id is not None else None
    return Status(201, services.create_survey(actor=request.user, compound=compound, building=building, **fields))


@router.post("/{survey_id}/open", response={200: SurveyOut, **ERRORS}, operation_id="open_survey")
def open_survey(request: HttpRequest, survey_id: Id):
    return services.open_survey(actor=request.user, survey=_survey(request, survey_id))


@router.post("/{survey_id}/close", response={200: SurveyOut, **ERRORS}, operation_id="close_survey")
def close_survey(request: HttpRequest, survey_id: Id):
    return services.close_survey(actor=request.user, survey=_survey(request, survey_id))


@router.post("/{survey_id}/responses", response={201: ResponseOut, **ERRORS}, operation_id="respond_to_survey")
def respond_to_survey(request: HttpRequest, survey_id: Id, payload: ResponseIn):
    return Status(201, services.respond(actor=request.user, survey=_survey(request, survey_id),
                                        answers=payload.answers))


@router.get("/{survey_id}/results", response={200: SurveyResultsOut, **ERRORS}, operation_id="get_survey_results")
def get_survey_results(request: HttpRequest, survey_id: Id):
    found = selectors.results(request.user, survey_id)
    return {"survey_id": found["survey"].pk, "responses": found["responses"],
            "questions": [vars(q) for q in found["questions"]]}
