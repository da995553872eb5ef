"""Console pages: import (template, check, confirm) and export (choose a list and filters, download)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from linli.core.errors import Forbidden, NotFound
from linli.exchange import services, uploads
from linli.exchange.formats import ImportFileError
from linli.exchange.workbooks import MAX_UPLOAD_BYTES, XLSX_CONTENT_TYPE
from linli.places import selectors as places

# Names of the counts in an import report, for people.
COUNT_LABELS = {"buildings": gettext_lazy("楼栋"), "units": gettext_lazy("单元"), "houses": gettext_lazy("房屋"),
                "persons": gettext_lazy("人员"), "residencies": gettext_lazy("居住关系"),
                "vehicles": gettext_lazy("车辆"), "devices": gettext_lazy("设备")}


def _counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(str(COUNT_LABELS.get(k, k)), n) for k, n in counts.items()]


def xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
@require_GET
def template_download(request: HttpRequest, kind: str) -> HttpResponse:
    try:
        importer = services.importer_for(kind)
    except NotFound as exc:
        raise Http404(_("没有这种导入类型")) from exc
    filename = _("%(title)s导入模板.xlsx") % {"title": importer.title}
    return xlsx_response(services.import_template(kind), filename)


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    kinds = services.import_kinds_for(request.user)
    if not kinds:
        raise PermissionDenied
    allowed = {k.kind: k for k in kinds}
    kind = request.POST.get("kind") or request.GET.get("kind") or kinds[0].kind
    context: dict = {"kinds": [{"kind": k.kind, "title": k.title} for k in kinds], "kind": kind,
                     "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
    if request.method == "GET":
        return render(request, "exchange/import.html", context)
    if kind not in allowed:
        context["problem"] = _("请选择导入类型")
        return render(request, "exchange/import.html", context, status=400)
    context["title"] = allowed[kind].title
    if request.POST.get("action") == "confirm":
        return _confirm(request, kind, context)
    return _check(request, kind, context)


def _check(request: HttpRequest, kind: str, context: dict) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        context["problem"] = _("请选择要导入的文件")
        return render(request, "exchange/import.html", context, status=400)
    if upload.size > MAX_UPLOAD_BYTES:
        context["problem"] = _("文件过大（不超过%(mb)sMB）") % {"mb": context["max_mb"]}
        return render(request, "exchange/import.html", context, status=400)
    data = upload.read()
    try:
        report = services.import_workbook(actor=request.user, kind=kind, data=data, dry_run=True)
    except ImportFileError as exc:
        context["problem"] = str(exc)
        return render(request, "exchange/import.html", context, status=400)
    context["report"] = report
    context["planned"] = _counts(report.planned)
    if report.ok:
        context["token"] = uploads.keep(user=request.user, data=data)
    return render(request, "exchange/import.html", context)


def _confirm(request: HttpRequest, kind: str, context: dict) -> HttpResponse:
    token = request.POST.get("token", "")
    data = uploads.take(user=request.user, token=token)
    if data is None:
        context["problem"] = _("待导入的文件已过期或不存在，请重新上传并检查")
        return render(request, "exchange/import.html", context, status=400)
    try:
        report = services.import_workbook(actor=request.user, kind=kind, data=data, dry_run=False)
    except ImportFileError as exc:
        context["problem"] = str(exc)
        return render(request, "exchange/import.html", context, status=400)
    context["report"] = report
    context["created"] = _counts(report.created)
    if not report.ok:
        return render(request, "exchange/import.html", context, status=400)
    uploads.discard(user=request.user, token=token)
    return render(request, "exchange/import.html", context)


def _compound_choices(user) -> list[tuple[int, str, str]]:
    return list(places.compounds(user).values_list("id", "code", "name"))


@login_required
@require_GET
def export_page(request: HttpRequest) -> HttpResponse:
    lists = services.exportable_lists(request.user)
    if not lists:
        raise PermissionDenied
    context = {
        "lists": lists,
        "chosen": request.GET.get("list", ""),
        "compounds": _compound_choices(request.user),
        "compound_id": request.GET.get("compound_id", ""),
    }
    return render(request, "exchange/export.html", context)


@login_required
@require_GET
def export_download(request: HttpRequest) -> HttpResponse:
    name = request.GET.get("list", "")
    try:
        export = services.export_list(actor=request.user, name=name, params=request.GET)
    except NotFound as exc:  # no such list, or a filter naming a record outside the user's scope
        raise Http404(_("没有这个列表") if exc.what == "export list" else str(exc)) from exc
    except Forbidden as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        context = {"lists": services.exportable_lists(request.user), "chosen": name,
                   "compounds": _compound_choices(request.user),
                   "problem": " ".join(exc.messages)}
        return render(request, "exchange/export.html", context, status=400)
    return FileResponse(export.file, as_attachment=True, filename=export.filename, content_type=XLSX_CONTENT_TYPE)
