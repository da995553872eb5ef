"""Navigation entries shown to a user, by what their roles allow."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

NAV = [
    ("web:home", _("首页"), None),
    ("web:place_tree", _("地点"), "places.view_compound"),
    ("web:compound_list", _("小区"), "places.view_compound"),
    ("web:house_list", _("房屋"), "places.view_house"),
    ("web:person_list", _("人员"), "people.view_person"),
    ("web:organisation_list", _("组织"), "people.view_organisation"),
    ("web:realunit_list", _("实有单位"), "people.view_realunit"),
    ("web:vehicle_list", _("车辆"), "people.view_vehicle"),
    ("web:audit_list", _("审计日志"), "core.view_auditentry"),
    ("web:import", _("导入"), "people.add_person"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(user, "scope"):
        return {"nav": []}
    scope = user.scope()
    items = []
    for name, label, perm in NAV:
        if perm is None or scope.allows(perm):
            try:
                items.append({"url": reverse(name), "label": label, "name": name})
            except Exception:  # noqa: S112 - a page not built yet is simply not shown
                continue
    return {"nav": items}
