"""Event log and dead-letter pages: scoped, filtered, paged; payloads shown, evidence linked."""

from __future__ import annotations

import json

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from linli.core.masking import scrub
from linli.devices.models import Device
from linli.events import media, selectors
from linli.web.forms.devices import EVENT_TYPE_LABELS, DeadLetterFilterForm, EventFilterForm
from linli.web.views.common import can, console_view, paginate

RAW_SHOWN = 300  # characters of a dead letter's raw message shown in the list


def payload_text(value) -> str:
    """A payload as JSON. Device payloads can carry a phone or ID number (a door credential):
    shown masked, as everywhere in the console."""
    return scrub(json.dumps(value, ensure_ascii=False, sort_keys=True))


class EventRow:
    """An event as the list shows it: a readable type, the payload as JSON, links to its evidence."""

    def __init__(self, event):
        self.event = event
        self.type_label = EVENT_TYPE_LABELS.get(event.type, event.type)
        self.payload = payload_text(event.payload)
        # Only references the media store could hold are offered; numbered as stored, like the API.
        self.evidence = [{"kind": item.get("kind") or str(n + 1),
                          "url": reverse("web:event_evidence", args=[event.pk, n])}
                         for n, item in enumerate(event.evidence if isinstance(event.evidence, list) else [])
                         if isinstance(item, dict) and isinstance(item.get("ref"), str)
                         and media.REF_PATTERN.match(item["ref"])]


@console_view("events.view_event")
def event_list(request):
    form = EventFilterForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    filters = {"compound_id": compound.pk if compound else None, "type": data.get("type", ""),
               "since": data.get("since"), "until": data.get("until")}
    qs = selectors.events(request.user, **filters).select_related("device", "compound")
    if code := data.get("device"):
        device_id = Device.objects.restrict(request.user).filter(code=code).values_list("pk", flat=True).first()
        qs = qs.filter(device_id=device_id) if device_id else qs.none()
    page = paginate(request, qs)
    return render(request, "web/events/event_list.html", {
        "form": form, "page": page, "rows": [EventRow(e) for e in page],
        "can_view_dead_letters": can(request, "events.view_deadletter"),
    })


@console_view("events.view_event")
def event_evidence(request, pk: int, index: int):
    """One evidence file of an event, from the media store (disk or S3), to those who may see the event."""
    event = selectors.event(request.user, pk)
    evidence = event.evidence if isinstance(event.evidence, list) else []
    item = evidence[index] if index < len(evidence) else None
    ref = item.get("ref") if isinstance(item, dict) else None
    if not isinstance(ref, str):
        raise Http404
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


class DeadLetterRow:
    def __init__(self, letter):
        self.letter = letter
        raw = letter.raw or ""
        self.raw = scrub(raw)[:RAW_SHOWN]
        self.truncated = len(raw) > RAW_SHOWN
        self.detail = scrub(letter.detail or "")


@console_view("events.view_deadletter")
def dead_letter_list(request):
    form = DeadLetterFilterForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    qs = selectors.dead_letters(request.user, source=data.get("source", ""),
                                compound_id=compound.pk if compound else None).select_related("device", "compound")
    page = paginate(request, qs)
    return render(request, "web/events/dead_letter_list.html", {
        "form": form, "page": page, "rows": [DeadLetterRow(d) for d in page],
    })
