"""Work orders (工单): categories with their deadlines and dispatch mode, the orders themselves,
their append-only history, and the skills technicians are dispatched by."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core import crypto
from linli.core.masking import mask_phone
from linli.core.scope import Grant, ScopedModel

CONTACT_CONTEXT = "workorder.contact_phone"
# The top of the escalation ladder: 1 property manager, 2 community, 3 street.
TOP_LEVEL = 3
code_validator = RegexValidator(r"^[a-z0-9_-]+$", _("只能包含小写字母、数字、下划线和连字符"))


class Kind(models.TextChoices):
    REPAIR = "repair", _("报修")
    COMPLAINT = "complaint", _("投诉")
    SUGGESTION = "suggestion", _("建议")
    GOVERNANCE = "governance", _("治理事件")


class DispatchMode(models.TextChoices):
    ASSIGN = "assign", _("指派")
    GRAB = "grab", _("抢单")
    ROUND_ROBIN = "round_robin", _("轮流派单")
    SKILL = "skill", _("按技能自动派单")


class Channel(models.TextChoices):
    PORTAL = "portal", _("居民端")
    STAFF_ON_BEHALF = "staff_on_behalf", _("代客报事")
    BOOTH = "booth", _("门岗")
    PATROL = "patrol", _("巡查")
    AUTOMATION = "automation", _("设备告警")
    HOTLINE_12345 = "hotline_12345", _("12345热线")
    IMPORT = "import", _("导入")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    ASSIGNED = "assigned", _("已派单")
    IN_PROGRESS = "in_progress", _("处理中")
    SUSPENDED = "suspended", _("已挂起")
    DONE = "done", _("已完成")
    VISITED = "visited", _("已回访")
    CLOSED = "closed", _("已关闭")
    CANCELLED = "cancelled", _("已撤销")


# The SLA clock runs in these; suspended, finished and cancelled orders neither warn nor escalate.
CLOCK_RUNNING = (Status.SUBMITTED, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS)


class Category(ScopedModel):
    """Category — 工单类别: what kind of matter, how fast it must be done, how it is dispatched.

    Kept per compound so each property company sets its own deadlines; `code` is what automations
    and imports name (e.g. "device_repair")."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="workorder_categories")
    code = models.CharField(max_length=40, validators=[code_validator])
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=60)
    deadline_minutes = models.PositiveIntegerField(validators=[MinValueValidator(1),
                                                               MaxValueValidator(90 * 24 * 60)])
    warning_minutes = models.PositiveIntegerField(default=0)
    dispatch_mode = models.CharField(max_length=12, choices=DispatchMode.choices, default=DispatchMode.ASSIGN)
    required_skill = models.CharField(max_length=40, blank=True)
    paid = models.BooleanField(default=False)
    # How many levels above the handler an overdue order may climb (0 none … 3 up to the street),
    # and how long each level has before the next one hears of it.
    escalation_levels = models.PositiveSmallIntegerField(default=TOP_LEVEL, validators=[MaxValueValidator(TOP_LEVEL)])
    escalation_interval_minutes = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    reopen_window_hours = models.PositiveIntegerField(default=7 * 24)
    active = models.BooleanField(default=True)
    # Round robin's durable pointer: the technician who got the last order of this category.
    last_assignee = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")

    class Meta:
        ordering = ["compound_id", "kind", "name"]
        verbose_name_plural = "categories"
        # Residents read categories to pick one when reporting; the SLA figures are staff's.
        permissions = [("view_sla", "Can view work-order SLA and satisfaction figures")]
        constraints = [
            models.UniqueConstraint(fields=["compound", "code"], name="workorder_category_code_unique"),
            models.CheckConstraint(condition=Q(warning_minutes__lt=models.F("deadline_minutes")),
                                   name="workorder_category_warning_before_deadline"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        # The active categories of the compounds a resident lives in, to pick one when reporting.
        return Q(compound__in=grant.compounds, active=True)

    def clean(self) -> None:
        if self.warning_minutes is not None and self.deadline_minutes and self.warning_minutes >= self.deadline_minutes:
            raise ValidationError({"warning_minutes": _("预警时间必须早于处理时限")})
        if self.dispatch_mode == DispatchMode.SKILL and not self.required_skill:
            raise ValidationError({"required_skill": _("按技能派单的类别须指定所需技能")})


class TechnicianSkill(ScopedModel):
    """TechnicianSkill — 维修技能: a technician's skill (plumbing, electrical, lift…) in one compound."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="workorder_skills")
    skill = models.CharField(max_length=40, validators=[code_validator])

    class Meta:
        ordering = ["compound_id", "user_id", "skill"]
        constraints = [models.UniqueConstraint(fields=["compound", "user", "skill"], name="technician_skill_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.skill}"


class WorkOrder(ScopedModel):
    """WorkOrder — 工单: one repair, complaint, suggestion or governance event, from report to closure.

    `deadline_at`, `warn_at` and `next_escalation_at` are the durable SLA timers (see sla.py);
    the contact phone is sealed like a person's phone and shown masked."""

    audit_exclude = ("contact_phone_cipher", "contact_phone_digest")

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="work_orders")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="work_orders")
    building = models.ForeignKey("places.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    house = models.ForeignKey("places.House", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    place = models.CharField(max_length=120, blank=True)  # where, when it is no house: "3号楼前绿地"
    title = models.CharField(max_length=120)
    description = models.TextField(max_length=2000, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    reporter_user = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="reported_work_orders")
    reporter_person = models.ForeignKey("people.Person", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    contact_phone_cipher = models.TextField(blank=True, editable=False)
    contact_phone_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    contact_phone_masked = models.CharField(max_length=16, blank=True, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    suspended_from = models.CharField(max_length=12, choices=Status.choices, blank=True)
    assignee = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_work_orders")
    deadline_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    price_fen = models.BigIntegerField(null=True, blank=True, validators=[MinValueValidator(0)])
    rating = models.PositiveSmallIntegerField(null=True, blank=True,
                                              validators=[MinValueValidator(1), MaxValueValidator(5)])
    rating_comment = models.CharField(max_length=500, blank=True)
    photos = models.JSONField(default=list, blank=True)  # completion photos: media references
    report_photos = models.JSONField(default=list, blank=True)  # the reporter's photos: media references
    # The bill of a paid repair (billing.charge_once, source "workorder:<id>"); billed once, never again.
    bill = models.ForeignKey("billing.Bill", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Automation intake: "<source>#<event id>", so a redelivered event files no second order.
    source_key = models.CharField(max_length=120, blank=True)
    details = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    visited_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["source_key"], condition=~Q(source_key=""),
                                    name="workorder_one_per_source_event"),
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                                   name="workorder_rating_1_to_5"),
            models.CheckConstraint(condition=Q(price_fen__isnull=True) | Q(price_fen__gte=0),
                                   name="workorder_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["compound", "status", "submitted_at"]),
            models.Index(fields=["status", "next_escalation_at"]),
            models.Index(fields=["status", "warn_at"]),
            models.Index(fields=["assignee", "status"]),
        ]
        # Dispatching (assign, transfer, return, suspend, close) is more than working an order.
        permissions = [("dispatch_workorder", "Can dispatch work orders")]

    def __str__(self) -> str:
        return self.title

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(reporter_person_id=grant.person_id)

    def set_contact_phone(self, value: str) -> None:
        if not value:
            self.contact_phone_cipher = self.contact_phone_digest = self.contact_phone_masked = ""
            return
        sealed = crypto.seal(value, context=CONTACT_CONTEXT, masked=mask_phone(value))
        self.contact_phone_cipher, self.contact_phone_digest = sealed.cipher, sealed.digest
        self.contact_phone_masked = sealed.masked

    def contact_phone_plain(self) -> str:
        """Only for the handler calling back; callers audit the access."""
        return crypto.decrypt(self.contact_phone_cipher, context=CONTACT_CONTEXT) if self.contact_phone_cipher else ""


class WorkOrderStep(ScopedModel):
    """WorkOrderStep — 工单流转记录: one move of an order (who, when, from → to, note, photos); never changed."""

    compound = models.ForeignKey("places.Compound", on_delete=models.PROTECT, related_name="+")
    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="steps")
    actor = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=40, blank=True)  # a job or automation when there is no user
    at = models.DateTimeField()
    action = models.CharField(max_length=16)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices)
    note = models.CharField(max_length=500, blank=True)
    photos = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["work_order", "id"])]

    def __str__(self) -> str:
        return f"{self.work_order_id}:{self.action}"

    @classmethod
    def resident_q(cls, grant: Grant) -> Q | None:
        return Q(work_order__reporter_person_id=grant.person_id)

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("work order steps are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("work order steps are append-only")
