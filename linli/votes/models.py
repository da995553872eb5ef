"""Owners' votes (业主表决) under Civil Code Art. 278: the vote, its frozen electorate, and ballots.

The electorate is copied when a vote opens, so later moves, sales and residency edits never change
who could vote or how much area each house weighed; the outcome is recomputed from these rows alone.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.scope import Grant, ScopedModel


class MatterKind(models.TextChoices):
    """Art. 278 para. 2: ordinary matters need more than half; the listed major ones three quarters."""

    ORDINARY = "ordinary", _("一般事项")
    MAJOR = "major", _("重大事项")


class MajorMatter(models.TextChoices):
    """The matters of Art. 278 para. 1 items (6)–(8) that need three quarters of the participants.

    Using the maintenance fund (item 5) is an ordinary matter since the 2021 Civil Code.
    """

    RAISE_MAINTENANCE_FUND = "raise_maintenance_fund", _("筹集建筑物及其附属设施的维修资金")
    REBUILD = "rebuild", _("改建、重建建筑物及其附属设施")
    CHANGE_COMMON_USE = "change_common_use", _("改变共有部分的用途")
    BUSINESS_ON_COMMON_PARTS = "business_on_common_parts", _("利用共有部分从事经营活动")


class Choice(models.TextChoices):
    APPROVE = "approve", _("同意")
    OPPOSE = "oppose", _("反对")
    ABSTAIN = "abstain", _("弃权")


class VoteStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    OPEN = "open", _("表决中")
    CLOSED = "closed", _("已结束")


class AreaBasis(models.TextChoices):
    INNER = "inner", _("套内面积")
    BUILT = "built", _("建筑面积")


class Vote(ScopedModel):
    """Vote — 业主表决: one question put to the owners of a compound, decided by the Art. 278 rule."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="votes")
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    matter_kind = models.CharField(max_length=10, choices=MatterKind.choices, default=MatterKind.ORDINARY)
    major_matter = models.CharField(max_length=30, choices=MajorMatter.choices, blank=True)
    status = models.CharField(max_length=8, choices=VoteStatus.choices, default=VoteStatus.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    organiser = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    # Which area weighs each house; fixed for the whole vote when it opens (docs/votes.md).
    area_basis = models.CharField(max_length=6, choices=AreaBasis.choices, blank=True)
    # The outcome computed at closing, kept so the published result never moves.
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(matter_kind=MatterKind.ORDINARY, major_matter="")
                | (Q(matter_kind=MatterKind.MAJOR) & ~Q(major_matter="")),
                name="vote_major_matter_named_only_for_major",
            ),
        ]
        indexes = [models.Index(fields=["compound", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_major(self) -> bool:
        return self.matter_kind == MatterKind.MAJOR

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        # Owners see the votes of their compounds once they are put to them, never drafts.
        return Q(compound__in=grant.compounds) & ~Q(status=VoteStatus.DRAFT)


class Elector(ScopedModel):
    """Elector — 表决业主名册: one house of the frozen electorate, its exclusive area and owner of record."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="electorate")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    area = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["vote_id", "house_id"]
        constraints = [models.UniqueConstraint(fields=["vote", "house"], name="elector_one_per_house")]

    def __str__(self) -> str:
        return f"{self.vote_id}:{self.house_id}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)


class Ballot(ScopedModel):
    """Ballot — 选票: the one choice cast for a house, by its owner or by someone recorded acting for them."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="ballots")
    house = models.ForeignKey("places.House", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=8, choices=Choice.choices)
    cast_at = models.DateTimeField()
    cast_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    # Set when the person casting is not the owner (a family member for an elderly owner, 代为表决).
    acting_person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    # sha256(vote, house, choice, salt); the salt went to the voter only, so the published list of
    # receipts proves a ballot was counted without telling anyone else whose it is.
    receipt = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["vote_id", "house_id"]
        constraints = [models.UniqueConstraint(fields=["vote", "house"], name="ballot_one_per_house")]

    def __str__(self) -> str:
        return f"{self.vote_id}:{self.house_id}"

    @property
    def acting_for_owner(self) -> bool:
        return self.acting_person_id is not None

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(house__in=grant.houses)
