"""Navigation and header facts for every console page, by what the user's roles allow."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from linli.accounts.roles import Role
from linli.web.views.common import may_open

# (URL name, label). An entry shows where its page opens for the user: may_open asks the page's own
# gate. Pages not built yet (no URL name) are skipped.
NAV = [
    ("web:home", _("首页")),
    ("web:place_tree", _("地点")),
    ("web:compound_list", _("小区")),
    ("web:building_list", _("楼栋")),
    ("web:house_list", _("房屋")),
    ("web:person_list", _("人员")),
    ("web:organisation_list", _("组织")),
    ("web:realunit_list", _("实有单位")),
    ("web:vehicle_list", _("车辆")),
    ("web:binding_list", _("绑定审核")),
    ("web:alarm_board", _("告警")),
    ("web:rule_list", _("联动规则")),
    ("web:device_list", _("设备")),
    ("web:device_health", _("设备运行状态")),
    ("web:event_list", _("事件记录")),
    ("web:audit_list", _("审计日志")),
]
# The import and export pages gate themselves (by the kinds of data the user may import or export),
# outside console_view, so their entries name the permission they need.
EXCHANGE_NAV = [
    ("exchange:import", _("导入"), "people.add_person"),
    ("exchange:export", _("导出"), "core.export_list"),
]


def _role_labels(scope) -> list[str]:
    if scope.unrestricted:
        return [str(_("平台管理员"))]
    labels = []
    for role in sorted(scope.roles):
        try:
            labels.append(str(Role(role).label))
        except ValueError:
            labels.append(role)
    return labels


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(user, "scope"):
        return {"nav": []}
    scope = user.scope()
    shown = [(name, label) for name, label in NAV if _opens(user, name)]
    shown += [(name, label) for name, label, perm in EXCHANGE_NAV if scope.allows(perm)]
    items = []
    for name, label in shown:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        items.append({"url": url, "label": label, "name": name, "active": active})
    return {"nav": items, "user_roles": _role_labels(scope)}


def _opens(user, name: str) -> bool:
    try:
        return may_open(user, name)
    except NoReverseMatch:
        return False
