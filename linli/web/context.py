"""Navigation and header facts for every console page, by what the user's roles allow."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from linli.accounts.roles import Role

# (URL name, label, permission needed). Pages not built yet (no URL name) are skipped.
NAV = [
    ("web:home", _("首页"), None),
    ("web:place_tree", _("地点"), "places.view_compound"),
    ("web:compound_list", _("小区"), "places.view_compound"),
    ("web:building_list", _("楼栋"), "places.view_building"),
    ("web:house_list", _("房屋"), "places.view_house"),
    ("web:person_list", _("人员"), "people.view_person"),
    ("web:organisation_list", _("组织"), "people.view_organisation"),
    ("web:realunit_list", _("实有单位"), "people.view_realunit"),
    ("web:vehicle_list", _("车辆"), "people.view_vehicle"),
    ("web:binding_list", _("绑定审核"), "portal.change_bindingrequest"),
    ("web:alarm_board", _("告警"), "alarms.view_alarm"),
    ("web:rule_list", _("联动规则"), "automations.view_rule"),
    ("web:device_list", _("设备"), "devices.view_device"),
    ("web:device_health", _("设备运行状态"), "devices.view_device"),
    ("web:event_list", _("事件记录"), "events.view_event"),
    ("web:audit_list", _("审计日志"), "core.view_auditentry"),
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
    items = []
    for name, label, perm in NAV:
        if perm is None or scope.allows(perm):
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            active = request.path == url if url == "/" else request.path.startswith(url)
            items.append({"url": url, "label": label, "name": name, "active": active})
    return {"nav": items, "user_roles": _role_labels(scope)}
