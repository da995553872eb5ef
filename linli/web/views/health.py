"""The health page of the sensing front end (感知前端运行状态监管) for one compound or every one in reach:
online rate, devices offline longest, flags, mean time to repair and 30 days of uptime as an SVG chart."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.devices import selectors
from linli.web.forms.devices import HealthFilterForm
from linli.web.views.common import console_view

# The uptime chart: one bar per day, drawn by the server (no script, no CDN).
BAR_W, BAR_GAP, CHART_H = 18, 4, 120


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(m)s分钟") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)s小时%(m)s分钟") % {"h": hours, "m": minutes}
    return _("%(d)s天%(h)s小时") % {"d": hours // 24, "h": hours % 24}


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def uptime_bars(days: list[selectors.DayUptime]) -> list[dict]:
    bars = []
    for i, day in enumerate(days):
        rate = day.uptime
        height = 0 if rate is None else max(1, round(rate * CHART_H))
        bars.append({"x": i * (BAR_W + BAR_GAP), "y": CHART_H - height, "h": height, "w": BAR_W,
                     "day": day.day, "label": percent(rate), "empty": rate is None,
                     "low": rate is not None and rate < 0.95})
    return bars


def offline_for(since: dt.datetime | None, now: dt.datetime) -> str:
    return duration_text((now - since).total_seconds()) if since else "—"


@console_view("devices.view_device")
def device_health(request):
    form = HealthFilterForm(request.GET, user=request.user)
    compound = form.cleaned_data.get("compound") if form.is_valid() else None
    now = timezone.now()
    health = selectors.device_health(request.user, compound_id=compound.pk if compound else None, now=now)
    bars = uptime_bars(health.days)
    return render(request, "web/health/health.html", {
        "form": form, "compound": compound, "health": health,
        "online_rate": percent(health.online_rate), "period_uptime": percent(health.period_uptime),
        "mttr": duration_text(health.mttr_s),
        "kinds": [{"label": k.label, "total": k.total, "online": k.online, "rate": percent(k.online_rate)}
                  for k in health.by_kind],
        "offline_longest": [{"device": d, "for": offline_for(d.state.offline_since, now)}
                            for d in health.offline_longest],
        "flag_lists": [(_("电量低"), health.flag_counts["battery_low"], health.flagged["battery_low"]),
                       (_("防拆报警"), health.flag_counts["tamper"], health.flagged["tamper"]),
                       (_("故障"), health.flag_counts["fault"], health.flagged["fault"])],
        "bars": bars, "chart_w": len(bars) * (BAR_W + BAR_GAP), "chart_h": CHART_H,
    })
