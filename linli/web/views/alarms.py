"""Alarm pages: the live board, the history list, the detail with its timeline, and the
lifecycle actions (acknowledge, dispatch, resolve, false alarm, comment) through the services.

The board refreshes a fragment every few seconds (htmx polling); when the live feed's
websocket is available, each alarm message triggers an immediate refresh as well.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from linli.accounts.models import AccountKind, RoleGrant, User
from linli.accounts.roles import GRANTED_ON, PERMISSIONS
from linli.alarms import selectors, services
from linli.alarms.models import OPEN_STATUSES, Alarm, AlarmStatus, Severity
from linli.core.errors import Conflict
from linli.core.models import AuditAction, AuditEntry
from linli.core.selectors import get_visible
from linli.events import media
from linli.web.forms.alarms import AlarmFilterForm, CommentForm, DispatchForm, ResolveForm
from linli.web.views.common import console_view, may_open, paginate

BOARD_LIMIT = 100
ESCALATION_LEVELS = {0: gettext_lazy("物业"), 1: gettext_lazy("社区"), 2: gettext_lazy("街道")}
# Property roles that may handle alarms: the people a dispatch can go to.
HANDLER_ROLES = sorted(role for role, nodes in GRANTED_ON.items()
                       if "alarms.change_alarm" in PERMISSIONS[role] and "compound" in nodes)


def _with_place(qs: QuerySet[Alarm]) -> QuerySet[Alarm]:
    """Everything a row shows (compound, device, building, unit) in the same query."""
    return qs.select_related("compound", "device__building", "device__unit", "device__device_type",
                             "acknowledged_by")


def compound_staff(compound: Any) -> QuerySet[User]:
    """Active property staff of a compound who may handle alarms: granted on it or on its company."""
    nodes = Q(compound_id=compound.pk)
    if compound.property_company_id:
        nodes |= Q(organisation_id=compound.property_company_id)
    grants = RoleGrant.objects.filter(nodes, role__in=HANDLER_ROLES).values("user_id")
    return User.objects.filter(pk__in=grants, is_active=True, kind=AccountKind.STAFF).order_by("username")


def staff_by_compound(alarms: list[Alarm]) -> dict[int, list[User]]:
    """`compound_staff` for every compound on a page, in one query."""
    compounds = {a.compound_id: a.compound for a in alarms}
    companies = {c.property_company_id for c in compounds.values() if c.property_company_id}
    grants = (RoleGrant.objects.filter(Q(compound_id__in=compounds) | Q(organisation_id__in=companies),
                                       role__in=HANDLER_ROLES, user__is_active=True,
                                       user__kind=AccountKind.STAFF)
              .select_related("user").order_by("user__username"))
    staff: dict[int, dict[int, User]] = {pk: {} for pk in compounds}
    for grant in grants:
        for pk, compound in compounds.items():
            if grant.compound_id == pk or (grant.organisation_id and
                                           grant.organisation_id == compound.property_company_id):
                staff[pk][grant.user_id] = grant.user
    return {pk: list(users.values()) for pk, users in staff.items()}


def _changeable(user: Any, alarms: list[Alarm]) -> set[int]:
    """Which of these alarms the user may act on (one query; roles differ by compound)."""
    ids = [a.pk for a in alarms]
    return set(Alarm.objects.restrict(user, "change").filter(pk__in=ids).values_list("pk", flat=True))


def _device_url(user: Any, device: Any) -> str:
    """The device's console page, once the device pages exist, where the user may open it."""
    if device is None:
        return ""
    try:
        return reverse("web:device_detail", args=[device.pk]) if may_open(user, "web:device_detail", device.pk) else ""
    except NoReverseMatch:
        return ""


def _feed_url() -> str:
    # The websocket only speeds the board up; without the live feed app the polling carries it.
    return "/ws/feed/" if importlib.util.find_spec("linli.notify.feed") else ""


# Board -----------------------------------------------------------------------------------------


def _board_context(request: HttpRequest) -> dict[str, Any]:
    form = AlarmFilterForm(request.GET, user=request.user, open_only=True)
    selection = form.selection()
    qs = _with_place(selectors.alarms(request.user, open_only=True, **selection))
    alarms = list(qs.order_by("-life_safety", "rank", "-raised_at", "-id")[:BOARD_LIMIT])
    counts = dict(selectors.alarms(request.user, open_only=True, **selection).order_by()
                  .values_list("severity").annotate(n=Count("id")))
    changeable = _changeable(request.user, alarms)
    now = timezone.now()
    staff = staff_by_compound([a for a in alarms if a.pk in changeable]) if changeable else {}
    rows = [{"alarm": a, "can_change": a.pk in changeable, "staff": staff.get(a.compound_id, []),
             "escalation": ESCALATION_LEVELS.get(a.escalation_level, a.escalation_level),
             "urgent": a.life_safety or a.severity == Severity.CRITICAL,
             "overdue": bool(a.deadline_at and not a.arrived_at and a.deadline_at <= now),
             "place": _place(a), "evidence": _evidence(a, with_event=False),
             "device_url": _device_url(request.user, a.device)} for a in alarms]
    query = request.GET.urlencode()
    return {"form": form, "rows": rows, "total": sum(counts.values()), "limit": BOARD_LIMIT,
            "severity_counts": [(s.value, s.label, counts.get(s.value, 0)) for s in Severity],
            "query": query, "feed_url": _feed_url(),
            "board_back": reverse("web:alarm_board") + (f"?{query}" if query else "")}


def _place(alarm: Alarm) -> str:
    """Compound, building, unit and floor as one short line."""
    parts = [alarm.compound.name]
    device = alarm.device
    if device is not None:
        if device.building_id:
            parts.append(str(device.building))
        if device.unit_id:
            parts.append(str(device.unit))
        if device.floor is not None:
            parts.append(_("%(floor)s层") % {"floor": device.floor})
    return " ".join(parts)


@console_view("alarms.view_alarm")
def alarm_board(request):
    return render(request, "web/alarms/board.html", _board_context(request))


@console_view("alarms.view_alarm")
def alarm_board_rows(request):
    response = render(request, "web/alarms/_board_rows.html", _board_context(request))
    response["Cache-Control"] = "no-store"
    return response


# History and detail ----------------------------------------------------------------------------


@console_view("alarms.view_alarm")
def alarm_list(request):
    form = AlarmFilterForm(request.GET, user=request.user)
    page = paginate(request, _with_place(selectors.alarms(request.user, **form.selection()))
                    .select_related("assignee").order_by("-raised_at", "-id"))
    return render(request, "web/alarms/alarm_list.html", {"form": form, "page": page})


def _evidence(alarm: Alarm, *, with_event: bool = True) -> list[dict]:
    """The alarm's own evidence, then its first event's, each once (numbered for the evidence view)."""
    items, seen = [], set()
    extra = alarm.first_event.evidence if with_event and alarm.first_event_id and alarm.first_event else []
    for item in [*alarm.evidence, *extra]:
        ref = item.get("ref") if isinstance(item, dict) else None
        if isinstance(ref, str) and media.REF_PATTERN.match(ref) and ref not in seen:
            seen.add(ref)
            items.append({"index": len(items), "kind": item.get("kind", ""), "ref": ref,
                          "image": item.get("kind") == "image" or ref.lower().endswith((".jpg", ".jpeg", ".png"))})
    return items


STATUS_STEPS = {
    AlarmStatus.ACKNOWLEDGED: gettext_lazy("确认告警"),
    AlarmStatus.DISPATCHED: gettext_lazy("派单"),
    AlarmStatus.RESOLVED: gettext_lazy("处置完毕"),
    AlarmStatus.FALSE_ALARM: gettext_lazy("标记为误报"),
}


def timeline(alarm: Alarm) -> list[dict]:
    """Raised, each move of the lifecycle and each escalation (from the audit log), comments."""
    steps = [{"at": alarm.raised_at, "what": _("告警产生"), "who": alarm.source, "text": alarm.title}]
    # The alarm itself was reached through the scoped selector; its own change history goes with it.
    changes = list(AuditEntry.objects.filter(object_type="alarms.alarm", object_id=str(alarm.pk),
                                             action=AuditAction.UPDATE).order_by("id"))
    assignee_ids = {c.after.get("assignee_id") for c in changes if (c.after or {}).get("assignee_id")}
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=assignee_ids)}
    escalated = False
    for change in changes:
        after = change.after or {}
        status = after.get("status")
        if status in STATUS_STEPS:
            text = ""
            if status == AlarmStatus.DISPATCHED and after.get("assignee_id"):
                text = _("处置人：%(name)s") % {"name": names.get(after["assignee_id"], "—")}
            steps.append({"at": change.at, "what": STATUS_STEPS[status], "who": change.actor, "text": text})
        if after.get("arrived_at"):
            steps.append({"at": change.at, "what": _("已到场"), "who": change.actor, "text": ""})
        if after.get("escalation_level"):
            escalated = True
            level = ESCALATION_LEVELS.get(after["escalation_level"], after["escalation_level"])
            steps.append({"at": change.at, "what": _("告警升级"), "who": change.actor,
                          "text": _("升级至%(level)s") % {"level": level}})
    escalated_at = getattr(alarm, "escalated_at", None)
    if alarm.escalation_level and not escalated and escalated_at:
        level = ESCALATION_LEVELS.get(alarm.escalation_level, alarm.escalation_level)
        steps.append({"at": escalated_at, "what": _("告警升级"), "who": "",
                      "text": _("升级至%(level)s") % {"level": level}})
    for c in alarm.comments.select_related("author"):
        steps.append({"at": c.at, "what": _("备注"), "who": str(c.author) if c.author else _("系统"),
                      "text": c.text, "comment": True})
    return sorted(steps, key=lambda s: s["at"])


def _detail(request: HttpRequest, alarm: Alarm, *, status: int = 200, **forms: Any) -> HttpResponse:
    can_change = alarm.pk in _changeable(request.user, [alarm])
    return render(request, "web/alarms/alarm_detail.html", {
        "alarm": alarm, "place": _place(alarm), "timeline": timeline(alarm), "evidence": _evidence(alarm),
        "escalation": ESCALATION_LEVELS.get(alarm.escalation_level, alarm.escalation_level),
        "can_change": can_change, "open_statuses": [s.value for s in OPEN_STATUSES],
        "device_url": _device_url(request.user, alarm.device),
        "can_comment": request.user.scope().allows("alarms.add_alarmcomment"),
        "dispatch_form": forms.get("dispatch_form") or DispatchForm(assignees=compound_staff(alarm.compound)),
        "resolve_form": forms.get("resolve_form") or ResolveForm(),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "error": forms.get("error"),
    }, status=status)


def _alarm(request: HttpRequest, pk: int) -> Alarm:
    return selectors.alarm(request.user, pk)


@console_view("alarms.view_alarm")
def alarm_detail(request, pk: int):
    alarm = _with_place(Alarm.objects.select_related("first_event", "assignee"))
    return _detail(request, get_visible(alarm, request.user, pk))


@console_view("alarms.view_alarm")
def alarm_evidence(request, pk: int, index: int):
    """One evidence file of an alarm, served only to those who may see the alarm."""
    alarm = get_visible(Alarm.objects.select_related("first_event"), request.user, pk)
    items = _evidence(alarm)
    if index >= len(items):
        raise Http404
    ref = items[index]["ref"]
    try:
        body, size = media.stream(ref)
    except (media.MediaMissing, ValueError) as exc:  # purged, or never a valid reference
        raise Http404 from exc
    except OSError:
        return HttpResponse(_("媒体存储暂不可用，请稍后重试"), status=503, content_type="text/plain; charset=utf-8")
    response = FileResponse(body, content_type=media.content_type(ref))
    response["Content-Length"] = str(size)
    # A reference never changes content; only this user's browser may keep it.
    response["Cache-Control"] = "private, max-age=86400"
    return response


# Actions ---------------------------------------------------------------------------------------


def _done(request: HttpRequest, alarm: Alarm, message: str) -> HttpResponse:
    """After an action: a flash fragment for the board (which then refreshes), else back where we came from."""
    if request.headers.get("HX-Request"):
        response = render(request, "web/alarms/_flash.html", {"message": message, "ok": True})
        response["HX-Trigger"] = "alarms-changed"
        return response
    messages.success(request, message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("web:alarm_detail", args=[alarm.pk])
    return redirect(target)


def _refused(request: HttpRequest, alarm: Alarm, exc: ValidationError | Conflict | None = None,
             **forms: Any) -> HttpResponse:
    """A refusal: on the board as a flash message, on the detail page next to the form that failed."""
    if exc is None:  # the form itself refused; its errors say why
        exc = ValidationError([e for form in forms.values() for errors in form.errors.values() for e in errors])
        banner = None
    else:
        banner = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    if request.headers.get("HX-Request"):
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        response = render(request, "web/alarms/_flash.html", {"message": message, "ok": False}, status=400)
        response["HX-Trigger"] = "alarms-changed"
        return response
    return _detail(request, alarm, status=400, error=banner, **forms)


@require_POST
@console_view("alarms.change_alarm")
def alarm_acknowledge(request, pk: int):
    alarm = _alarm(request, pk)
    try:
        services.acknowledge(actor=request.user, alarm=alarm)
    except (ValidationError, Conflict) as exc:
        return _refused(request, alarm, exc)
    return _done(request, alarm, _("已确认告警：%(title)s") % {"title": alarm.title})


@require_POST
@console_view("alarms.change_alarm")
def alarm_dispatch(request, pk: int):
    alarm = _alarm(request, pk)
    form = DispatchForm(request.POST, assignees=compound_staff(alarm.compound))
    if not form.is_valid():
        return _refused(request, alarm, dispatch_form=form)
    assignee = form.cleaned_data["assignee"]
    try:
        services.dispatch(actor=request.user, alarm=alarm, assignee=assignee)
    except (ValidationError, Conflict) as exc:
        return _refused(request, alarm, exc, dispatch_form=form)
    return _done(request, alarm, _("已派单给 %(name)s：%(title)s") % {"name": assignee, "title": alarm.title})


@require_POST
@console_view("alarms.change_alarm")
def alarm_resolve(request, pk: int):
    alarm = _alarm(request, pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _refused(request, alarm, resolve_form=form)
    false_alarm = form.cleaned_data["false_alarm"]
    try:
        services.resolve(actor=request.user, alarm=alarm, false_alarm=false_alarm, note=form.cleaned_data["note"])
    except (ValidationError, Conflict) as exc:
        return _refused(request, alarm, exc, resolve_form=form)
    done = _("已标记为误报：%(title)s") if false_alarm else _("已处置完毕：%(title)s")
    return _done(request, alarm, done % {"title": alarm.title})


@require_POST
@console_view("alarms.change_alarm")
def alarm_arrive(request, pk: int):
    """Someone is on site: what an arrival deadline (entrapment) waits for."""
    alarm = _alarm(request, pk)
    try:
        services.arrive(actor=request.user, alarm=alarm)
    except (ValidationError, Conflict) as exc:
        return _refused(request, alarm, exc)
    return _done(request, alarm, _("已记录到场：%(title)s") % {"title": alarm.title})


@require_POST
@console_view("alarms.add_alarmcomment")
def alarm_comment(request, pk: int):
    alarm = _alarm(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _refused(request, alarm, comment_form=form)
    try:
        services.comment(actor=request.user, alarm=alarm, text=form.cleaned_data["text"])
    except (ValidationError, Conflict) as exc:
        return _refused(request, alarm, exc, comment_form=form)
    return _done(request, alarm, _("已添加备注"))
