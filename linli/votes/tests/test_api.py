"""The votes API: a manager drafts and opens a vote, owners cast one ballot per house (a daughter for
her elderly father), results and receipts appear only after closing, and the closing job closes
what is due exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from linli.accounts import services as accounts
from linli.core.tests.apiclient import ApiClient
from linli.votes import services
from linli.votes.models import Ballot, Vote
from linli.votes.receipts import receipt_of

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


def _draft(client, compound, **extra):
    body = {"compound_id": compound.pk, "title": "加装电梯", "description": "3号楼加装电梯",
            "closes_at": (timezone.now() + dt.timedelta(days=7)).isoformat(), **extra}
    return client.post("/api/votes", body)


def test_a_manager_drafts_and_opens_a_vote_and_the_owner_casts_one_ballot(district):
    a = district.a
    manager, owner = ApiClient(a.users["property_manager"]), ApiClient(a.users["resident"])
    draft = _draft(manager, a.compound)
    assert draft.status_code == 201, draft.content
    vote_id = draft.json()["id"]
    assert draft.json()["status"] == "draft" and draft.json()["area_basis"] is None
    assert owner.get(f"/api/votes/{vote_id}").status_code == 404  # drafts are not put to owners
    assert owner.get("/api/votes").json()["items"] == []
    opened = manager.post(f"/api/votes/{vote_id}/open")
    assert opened.status_code == 200 and opened.json()["status"] == "open" and opened.json()["area_basis"] == "built"
    assert manager.post(f"/api/votes/{vote_id}/open").status_code == 409
    assert [v["id"] for v in owner.get("/api/votes").json()["items"]] == [vote_id]

    cast = owner.post(f"/api/votes/{vote_id}/ballots", {"house_id": a.house.pk, "choice": "approve"})
    assert cast.status_code == 201, cast.content
    salt, ballot = cast.json()["salt"], cast.json()["ballot"]
    assert ballot["receipt"] == receipt_of(vote_id=vote_id, house_id=a.house.pk, choice="approve", salt=salt)
    again = owner.post(f"/api/votes/{vote_id}/ballots", {"house_id": a.house.pk, "choice": "oppose"})
    assert again.status_code == 409
    bad = owner.post(f"/api/votes/{vote_id}/ballots", {"house_id": a.house.pk, "choice": "maybe"})
    assert bad.status_code == 422 and "choice" in bad.json()["error"]["fields"]
    mine = owner.get(f"/api/votes/{vote_id}/ballots").json()
    assert mine["count"] == 1 and mine["items"][0]["choice"] == "approve"
    assert "salt" not in mine["items"][0]
    # The results and receipts are published only when the vote is over.
    assert owner.get(f"/api/votes/{vote_id}/result").status_code == 409
    assert owner.get(f"/api/votes/{vote_id}/receipts").status_code == 409
    assert owner.post(f"/api/votes/{vote_id}/close").status_code == 403
    closed = manager.post(f"/api/votes/{vote_id}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    result = owner.get(f"/api/votes/{vote_id}/result").json()
    assert result["result"]["passed"] is True and result["result"]["participating_owners"] == 1
    receipts = owner.get(f"/api/votes/{vote_id}/receipts").json()
    assert receipts["count"] == 1 and receipts["receipts"] == [{"receipt": ballot["receipt"], "choice": "approve"}]


def test_a_daughter_casts_for_her_elderly_father_and_a_neighbour_cannot_vote_for_the_house(district):
    a = district.a
    manager = a.users["property_manager"]
    vote = services.open_vote(actor=manager, vote=services.create_vote(
        actor=manager, compound=a.compound, title="续聘物业", closes_at=timezone.now() + dt.timedelta(days=3)))
    daughter = ApiClient(accounts.create_resident_account(actor=district.admin, person=a.family))
    as_herself = daughter.post(f"/api/votes/{vote.pk}/ballots", {"house_id": a.house.pk, "choice": "approve"})
    assert as_herself.status_code == 403  # she is family, not an owner
    for_father = daughter.post(f"/api/votes/{vote.pk}/ballots",
                               {"house_id": a.house.pk, "choice": "approve", "acting_for": a.owner.pk})
    assert for_father.status_code == 201, for_father.content
    ballot = for_father.json()["ballot"]
    assert ballot["owner_id"] == a.owner.pk and ballot["acting_person_id"] == a.family.pk
    # Residents of compound b reach neither the vote nor the house.
    outsider = ApiClient(district.b.users["resident"])
    assert outsider.post(f"/api/votes/{vote.pk}/ballots", {"house_id": a.house.pk,
                                                           "choice": "oppose"}).status_code == 404
    assert outsider.get(f"/api/votes/{vote.pk}/ballots").status_code == 404
    assert Ballot.objects.filter(vote=vote).count() == 1


def test_invalid_drafts_name_the_field_and_only_organisers_draft(district):
    a = district.a
    manager = ApiClient(a.users["property_manager"])
    unnamed = _draft(manager, a.compound, matter_kind="major")
    assert unnamed.status_code == 422 and "major_matter" in unnamed.json()["error"]["fields"]
    past = _draft(manager, a.compound, closes_at=(timezone.now() - dt.timedelta(days=1)).isoformat())
    assert past.status_code == 422 and "closes_at" in past.json()["error"]["fields"]
    assert _draft(manager, a.compound, matter_kind="major", major_matter="rebuild").status_code == 201
    assert _draft(ApiClient(a.users["guard"]), a.compound).status_code in (403, 404)
    assert _draft(ApiClient(a.users["resident"]), a.compound).status_code == 403
    assert _draft(manager, district.b.compound).status_code == 404
    assert Vote.objects.count() == 1


def test_the_closing_job_closes_due_votes_once_even_when_two_run_at_once(district, transactional_db):
    a = district.a
    manager = a.users["property_manager"]
    votes = [services.open_vote(actor=manager, vote=services.create_vote(
        actor=manager, compound=a.compound, title=f"表决{n}", closes_at=timezone.now() + dt.timedelta(hours=1)))
        for n in range(3)]
    later = timezone.now() + dt.timedelta(hours=2)
    Vote.objects.filter(pk=votes[2].pk).update(closes_at=later + dt.timedelta(days=1))
    results: list[list[int]] = []

    def run():
        try:
            results.append(services.close_due_votes(now=later))
        finally:
            connection.close()

    if connection.vendor == "postgresql":  # real row locks; SQLite serialises writers anyway
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        results.append(services.close_due_votes(now=later))
        results.append(services.close_due_votes(now=later))
    assert sorted(pk for r in results for pk in r) == sorted([votes[0].pk, votes[1].pk])
    assert Vote.objects.get(pk=votes[2].pk).status == "open"
    assert services.close_due_votes(now=later) == []


def test_vote_lists_take_the_same_queries_for_one_row_or_many(district, django_assert_max_num_queries):
    a = district.a
    manager = a.users["property_manager"]
    client, owner = ApiClient(manager), ApiClient(a.users["resident"])

    def one():
        vote = services.open_vote(actor=manager, vote=services.create_vote(
            actor=manager, compound=a.compound, title="表决", closes_at=timezone.now() + dt.timedelta(days=1)))
        services.cast_ballot(actor=a.users["resident"], vote=vote, house=a.house, choice="approve")
        return vote

    first = one()
    client.get("/api/votes")
    owner.get("/api/votes")  # tokens first used

    def counts(vote):
        out = []
        for c, url in ((client, "/api/votes"), (owner, "/api/votes"), (client, f"/api/votes/{vote.pk}/ballots")):
            with CaptureQueriesContext(connection) as ctx:
                assert c.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    small = counts(first)
    for _ in range(4):
        last = one()
    assert counts(last) == small
    with django_assert_max_num_queries(12):
        client.get("/api/votes", limit=500)
