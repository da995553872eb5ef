"""House binding review (绑定审核): staff of a compound see residents' binding requests and approve
(a verified residency and a resident account follow) or reject them with a reason."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from linli.portal import selectors, services
from linli.portal.forms import ApproveBindingForm, RejectBindingForm
from linli.portal.models import BindingStatus
from linli.web.views.common import can, console_view, paginate, submit


@console_view("portal.view_bindingrequest")
def binding_list(request):
    status = request.GET.get("status", BindingStatus.PENDING)
    if status not in BindingStatus.values and status != "all":
        status = BindingStatus.PENDING
    qs = selectors.binding_requests(request.user, status="" if status == "all" else status)
    return render(request, "web/bindings/binding_list.html", {
        "page": paginate(request, qs), "status": status, "statuses": BindingStatus.choices,
    })


def _detail(request, binding, approve=None, reject=None, status: int = 200):
    return render(request, "web/bindings/binding_detail.html", {
        "binding": binding, "can_decide": can(request, "portal.change_bindingrequest"),
        "approve": approve or ApproveBindingForm(), "reject": reject or RejectBindingForm(),
    }, status=status)


@console_view("portal.view_bindingrequest")
def binding_detail(request, pk: int):
    return _detail(request, selectors.binding_request(request.user, pk))


@sensitive_post_parameters("id_number")
@require_POST
@console_view("portal.change_bindingrequest")
def binding_approve(request, pk: int):
    binding = selectors.binding_request(request.user, pk)
    form = ApproveBindingForm(request.POST)
    done = submit(form, lambda data: services.approve_binding(actor=request.user, request=binding,
                                                              id_number=data["id_number"]))
    if done is None:
        binding.refresh_from_db()
        return _detail(request, binding, approve=form, status=400)
    messages.success(request, _("已通过绑定申请"))
    return redirect("web:binding_list")


@require_POST
@console_view("portal.change_bindingrequest")
def binding_reject(request, pk: int):
    binding = selectors.binding_request(request.user, pk)
    form = RejectBindingForm(request.POST)
    done = submit(form, lambda data: services.reject_binding(actor=request.user, request=binding,
                                                             reason=data["reason"]))
    if done is None:
        binding.refresh_from_db()
        return _detail(request, binding, reject=form, status=400)
    messages.success(request, _("已驳回绑定申请"))
    return redirect("web:binding_list")
