"""The REST API: one NinjaAPI with a router per app, mounted at /api/ (docs at /api/docs)."""

from __future__ import annotations

from linli.accounts.api import router as auth_router
from linli.accounts.api import staff_router
from linli.alarms.api import router as alarms_router
from linli.automations.api import router as rules_router
from linli.billing.api import router as billing_router
from linli.core.api import AUTH, LinliAPI, install_error_handlers
from linli.core.audit_api import router as audit_router
from linli.devices.api import router as devices_router
from linli.events.api import router as events_router
from linli.exchange.api import router as exchange_router
from linli.notices.api import router as notices_router
from linli.notify.api import router as notify_router
from linli.parcels.api import router as parcels_router
from linli.people.api import router as people_router
from linli.places.api import router as places_router
from linli.rentals.api import router as rentals_router
from linli.surveys.api import router as surveys_router
from linli.visitors.api import router as visitors_router
from linli.votes.api import router as votes_router
from linli.workorders.api import router as workorders_router

api = LinliAPI(
    title="Linli API",
    version="1",
    description="邻里 smart-community platform. Token (Bearer) for apps, session cookie for the console.",
    auth=AUTH,
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/auth", auth_router)
api.add_router("/accounts", staff_router)
api.add_router("/places", places_router)
api.add_router("/people", people_router)
api.add_router("/devices", devices_router)
api.add_router("/events", events_router)
api.add_router("/alarms", alarms_router)
api.add_router("/rules", rules_router)
api.add_router("/audit", audit_router)
api.add_router("/exchange", exchange_router)
api.add_router("/notifications", notify_router)
api.add_router("/billing", billing_router)
api.add_router("/workorders", workorders_router)
api.add_router("/votes", votes_router)
api.add_router("/notices", notices_router)
api.add_router("/rentals", rentals_router)
api.add_router("/surveys", surveys_router)
api.add_router("/parcels", parcels_router)
api.add_router("/visitors", visitors_router)
