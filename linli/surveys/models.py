"""Survey — 问卷调查 and its responses: one per resident, optionally anonymous."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Survey(ScopedModel):
    """Survey — 问卷调查 / 献计献策: questions put to the residents of a compound (or one building)."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="surveys")
    building = models.ForeignKey("places.Building", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    questions = models.JSONField()
    # Anonymous: the response keeps no link to the person, only a keyed digest that stops a second one.
    anonymous = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT)
    closes_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    organiser = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["compound", "status"]), models.Index(fields=["status", "closes_at"])]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        from linli.places.models import House

        # Residents see what was put to them: not drafts, not another building's.
        their_buildings = House.objects.filter(pk__in=grant.houses).values("building_id")
        return (Q(compound__in=grant.compounds) & ~Q(status=SurveyStatus.DRAFT)
                & (Q(building__isnull=True) | Q(building_id__in=their_buildings)))


class SurveyResponse(ScopedModel):
    """SurveyResponse — 问卷答复: one resident's answers."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    respondent = models.ForeignKey("people.Person", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    respondent_digest = models.CharField(max_length=64)
    answers = models.JSONField()
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["survey", "respondent_digest"],
                                               name="survey_one_response_per_person")]

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(respondent_id=grant.person_id)
