"""Device pages: list with filters, detail (state, credentials, events, outages, commands), register,
edit, lifecycle change, credential rotation (the new secret shown once) and sending a command."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from linli.devices import selectors, services
from linli.devices.models import CredentialKind, Device
from linli.events import selectors as events
from linli.places import selectors as places
from linli.web.forms.devices import CommandForm, CredentialForm, DeviceFilterForm, DeviceForm, LifecycleForm
from linli.web.views.common import can, console_view, int_param, paginate, posted, render_form, submit
from linli.web.views.events import EventRow, payload_text

DEVICE_FIELDS = ("name", "building", "unit", "floor", "x_m", "y_m")
RECENT = 10


@console_view("devices.view_device")
def device_list(request):
    form = DeviceFilterForm(request.GET, user=request.user)
    data = form.cleaned_data if form.is_valid() else {}
    compound = data.get("compound")
    qs = selectors.devices(request.user, compound_id=compound.pk if compound else None,
                           kind=data.get("kind", ""), lifecycle=data.get("lifecycle", ""),
                           online={"online": True, "offline": False}.get(data.get("online", "")),
                           q=data.get("q", ""))
    return render(request, "web/devices/device_list.html", {
        "form": form, "page": paginate(request, qs), "compound": compound,
        "can_add": can(request, "devices.add_device"),
    })


def _allowed(user, device: Device, action: str) -> bool:
    # Per record, not per role: a user may change devices in one compound and only view them in another.
    return Device.objects.restrict(user, action).filter(pk=device.pk).exists()


def _detail_page(request, device: Device, *, command_form=None, status: int = 200):
    user = request.user
    may_change = _allowed(user, device, "change")
    may_command = _allowed(user, device, "command")
    capabilities = device.device_type.capabilities or []
    return render(request, "web/devices/device_detail.html", {
        "device": device,
        "state": getattr(device, "state", None),
        "credentials": selectors.credentials(user, device),
        "events": [EventRow(e) for e in events.events(user, device_id=device.pk)[:RECENT]]
        if can(request, "events.view_event") else [],
        "outages": selectors.outages(user, device_id=device.pk)[:RECENT],
        "commands": [(c, payload_text(c.params)) for c in selectors.commands(user, device_id=device.pk)[:RECENT]],
        "can_change": may_change,
        "can_command": may_command and bool(capabilities),
        "command_form": command_form or CommandForm(capabilities=capabilities),
        "credential_form": CredentialForm(),
        "lifecycle_form": LifecycleForm(initial={"lifecycle": device.lifecycle}),
        "can_view_events": can(request, "events.view_event"),
    }, status=status)


@console_view("devices.view_device")
def device_detail(request, pk: int):
    return _detail_page(request, selectors.device(request.user, pk))


@console_view("devices.add_device")
def device_create(request):
    compound_pk = int_param(request, "compound")
    compound = places.compound(request.user, compound_pk) if compound_pk else None
    form = DeviceForm(posted(request), user=request.user, compound=compound,
                      initial={"compound": compound} if compound else None)
    if request.method == "POST":
        device = submit(form, lambda data: services.register_device(actor=request.user, **data))
        if device is not None:
            return redirect("web:device_detail", pk=device.pk)
    back = reverse("web:device_list") + (f"?compound={compound.pk}" if compound else "")
    return render_form(request, form, title=_("登记设备"), back=back,
                       subtitle=compound.standard_address if compound else "")


@console_view("devices.change_device")
def device_edit(request, pk: int):
    device = selectors.device(request.user, pk)
    initial = {f: getattr(device, f) for f in DEVICE_FIELDS}
    form = DeviceForm(posted(request), user=request.user, compound=device.compound, editing=True, initial=initial)
    if request.method == "POST":
        saved = submit(form, lambda data: services.update_device(actor=request.user, device=device, **data))
        if saved is not None:
            return redirect("web:device_detail", pk=device.pk)
    return render_form(request, form, title=_("编辑设备"), subtitle=str(device),
                       back=reverse("web:device_detail", args=[pk]))


@require_POST
@console_view("devices.change_device")
def device_lifecycle(request, pk: int):
    device = selectors.device(request.user, pk)
    form = LifecycleForm(request.POST)
    saved = submit(form, lambda data: services.update_device(actor=request.user, device=device,
                                                             lifecycle=data["lifecycle"]))
    if saved is None:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        messages.success(request, _("设备状态已改为：%(state)s") % {"state": saved.get_lifecycle_display()})
    return redirect("web:device_detail", pk=pk)


@require_POST
@never_cache
@console_view("devices.change_device")
def device_credential(request, pk: int):
    """Issue (or rotate) a credential: the secret is in this one answer and nowhere else, ever."""
    device = selectors.device(request.user, pk)
    form = CredentialForm(request.POST)
    secret = submit(form, lambda data: services.issue_credential(actor=request.user, device=device,
                                                                 kind=data["kind"]))
    if secret is None:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("web:device_detail", pk=pk)
    kind = form.cleaned_data["kind"]
    return render(request, "web/devices/credential_issued.html", {
        "device": device, "kind": CredentialKind(kind).label, "is_mqtt": kind == CredentialKind.MQTT_PASSWORD,
        "username": device.code, "secret": secret,
    })


@require_POST
@console_view("devices.command_device")
def device_command(request, pk: int):
    device = selectors.device(request.user, pk)
    form = CommandForm(request.POST, capabilities=device.device_type.capabilities or [])
    command = submit(form, lambda data: services.send_command(actor=request.user, device=device, **data))
    if command is None:
        return _detail_page(request, device, command_form=form, status=400)
    messages.success(request, _("指令 %(name)s 已提交：%(status)s")
                     % {"name": command.name, "status": command.get_status_display()})
    return redirect("web:device_detail", pk=pk)
