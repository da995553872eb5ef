"""Roles as data: what each role may do, and on which kind of node it is granted."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("市级管理员")
    STREET_OFFICER = "street_officer", _("街道干部")
    COMMUNITY_OFFICER = "community_officer", _("社区干部")
    GRID_WORKER = "grid_worker", _("网格员")
    PROPERTY_MANAGER = "property_manager", _("物业经理")
    GUARD = "guard", _("门岗保安")
    TECHNICIAN = "technician", _("维修师傅")
    CASHIER = "cashier", _("收银员")
    CUSTOMER_SERVICE = "customer_service", _("物业客服")
    INTEGRATOR = "integrator", _("集成商")
    RESIDENT = "resident", _("居民")


PROPERTY_STAFF = (Role.GUARD, Role.TECHNICIAN, Role.CASHIER, Role.CUSTOMER_SERVICE)
GOVERNMENT = (Role.CITY_ADMIN, Role.STREET_OFFICER, Role.COMMUNITY_OFFICER, Role.GRID_WORKER)

# Which node a role may be granted on: a region level, a grid, a compound or an organisation.
GRANTED_ON = {
    Role.CITY_ADMIN: ("region",),
    Role.STREET_OFFICER: ("region",),
    Role.COMMUNITY_OFFICER: ("region",),
    Role.GRID_WORKER: ("grid",),
    Role.PROPERTY_MANAGER: ("organisation", "compound"),
    Role.GUARD: ("compound", "organisation"),
    Role.TECHNICIAN: ("compound", "organisation"),
    Role.CASHIER: ("compound", "organisation"),
    Role.CUSTOMER_SERVICE: ("compound", "organisation"),
    Role.INTEGRATOR: ("compound", "organisation"),
}
REGION_LEVEL_OF_ROLE = {Role.CITY_ADMIN: "city", Role.STREET_OFFICER: "street", Role.COMMUNITY_OFFICER: "community"}


def _perms(app_models: dict[str, tuple[str, ...]], actions: tuple[str, ...]) -> set[str]:
    return {f"{app}.{action}_{model}" for app, models_ in app_models.items() for model in models_ for action in actions}


PLACES = {"places": ("region", "grid", "compound", "building", "unit", "house")}
PLACE_DETAIL = {"places": ("building", "unit", "house")}
PEOPLE = {"people": ("person", "residency", "vehicle", "realunit", "consent")}
ORGS = {"people": ("organisation",)}
VIEW, EDIT = ("view",), ("view", "add", "change", "delete")
AUDIT = {"core.view_auditentry"}
REVEAL = {"people.reveal_person"}
EXPORT = {"core.export_list"}

ACCOUNTS = _perms({"accounts": ("user", "rolegrant")}, EDIT)
DEVICE_VIEW = _perms({"devices": ("device", "devicetype", "devicecommand", "deviceoutage"),
                      "events": ("event", "deadletter")}, VIEW)
DEVICE_COMMAND = {"devices.command_device"}  # open a gate, play a warning, hold a lift door
DEVICE_EDIT = DEVICE_VIEW | _perms({"devices": ("device",)}, EDIT) | DEVICE_COMMAND
ALARM_VIEW = _perms({"alarms": ("alarm", "alarmcomment"), "notify": ("notification",)}, VIEW)
ALARM_HANDLE = ALARM_VIEW | _perms({"alarms": ("alarm",)}, ("change",)) | _perms({"alarms": ("alarmcomment",)}, ("add",))

RULE_VIEW = _perms({"automations": ("rule", "rulerun")}, VIEW)
RULE_EDIT = RULE_VIEW | _perms({"automations": ("rule",)}, EDIT)

# Work orders: staff and government see their compounds' orders; handlers work them (a technician
# only the orders assigned to them or in the grab pool, checked in linli/workorders/services.py);
# dispatchers also accept, assign, transfer, suspend and close; residents report and see their own.
WORKORDER_VIEW = _perms({"workorders": ("workorder", "workorderstep", "category", "technicianskill")}, VIEW) | {
    "workorders.view_sla"}
WORKORDER_HANDLE = WORKORDER_VIEW | {"workorders.change_workorder"}
WORKORDER_DISPATCH = WORKORDER_HANDLE | {"workorders.dispatch_workorder"}
WORKORDER_ON_BEHALF = {"workorders.add_workorder"}
WORKORDER_SETUP = _perms({"workorders": ("category", "technicianskill")}, EDIT)
# Residents also read their compounds' categories (to pick one when reporting), never the SLA figures.
WORKORDER_OWN = {"workorders.view_workorder", "workorders.view_workorderstep", "workorders.add_workorder",
                 "workorders.view_category"}

PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset(
        _perms(PLACES, EDIT) | _perms(PEOPLE, EDIT) | _perms(ORGS, EDIT) | AUDIT | REVEAL | EXPORT | ACCOUNTS
        | DEVICE_VIEW | ALARM_VIEW | RULE_VIEW | WORKORDER_VIEW
    ),
    Role.STREET_OFFICER: frozenset(
        _perms(PLACES, VIEW) | _perms(PEOPLE, EDIT) | _perms(ORGS, EDIT) | AUDIT | REVEAL | EXPORT | DEVICE_VIEW | ALARM_HANDLE
        | RULE_VIEW | WORKORDER_VIEW
    ),
    Role.COMMUNITY_OFFICER: frozenset(
        _perms(PLACES, VIEW) | _perms(PLACE_DETAIL, EDIT) | _perms(PEOPLE, EDIT) | _perms(ORGS, VIEW)
        | AUDIT | REVEAL | EXPORT | DEVICE_VIEW | ALARM_HANDLE | RULE_VIEW | WORKORDER_VIEW
    ),
    Role.GRID_WORKER: frozenset(
        _perms(PLACES, VIEW) | _perms(PEOPLE, ("view", "add", "change")) | _perms(ORGS, VIEW) | WORKORDER_VIEW
    ),
    Role.PROPERTY_MANAGER: frozenset(
        _perms(PLACES, VIEW) | _perms(PLACE_DETAIL, EDIT) | {"places.change_compound"}
        | _perms(PEOPLE, EDIT) | _perms(ORGS, VIEW) | AUDIT | REVEAL | EXPORT | ACCOUNTS | DEVICE_EDIT | ALARM_HANDLE
        | RULE_EDIT | WORKORDER_DISPATCH | WORKORDER_ON_BEHALF | WORKORDER_SETUP
    ),
    Role.GUARD: frozenset(
        _perms(PLACES, VIEW) | _perms({"people": ("person", "residency", "vehicle")}, VIEW) | ALARM_HANDLE
        | DEVICE_VIEW | DEVICE_COMMAND | WORKORDER_VIEW | WORKORDER_ON_BEHALF
    ),
    Role.TECHNICIAN: frozenset(
        _perms(PLACES, VIEW) | DEVICE_VIEW | DEVICE_COMMAND | ALARM_HANDLE | RULE_VIEW | WORKORDER_HANDLE
    ),
    Role.CASHIER: frozenset(_perms(PLACES, VIEW) | _perms({"people": ("person", "residency")}, VIEW) | WORKORDER_VIEW),
    Role.CUSTOMER_SERVICE: frozenset(
        _perms(PLACES, VIEW) | _perms({"people": ("person", "residency", "vehicle")}, ("view", "add", "change"))
        | WORKORDER_DISPATCH | WORKORDER_ON_BEHALF
    ),
    Role.INTEGRATOR: frozenset(
        _perms({"places": ("region", "compound", "building", "unit")}, VIEW) | DEVICE_EDIT | RULE_EDIT
    ),
    Role.RESIDENT: frozenset(
        _perms({"places": ("region", "compound", "building", "unit", "house")}, VIEW)
        | _perms({"people": ("person", "residency", "vehicle", "consent", "organisation")}, VIEW)
        | {"people.change_vehicle", "people.add_vehicle", "people.change_consent", "people.add_consent"}
        | WORKORDER_OWN
    ),
}

# Billing: staff and government read the books of their compounds; a manager sets fee items and runs
# bills; cashiers (and managers) take payments and request refunds; only a manager approves a refund,
# and never their own request (linli/billing/payments.py). Residents see their own house's bills and
# payments, start and prepay them, and read the disclosed funds (LedgerAccount.resident_q).
BILLING_VIEW = _perms({"billing": ("ledgeraccount", "journalentry", "posting", "feeitem", "meterreading", "billrun",
                                   "bill", "billline", "payment", "paymentbill", "allocation", "refund")}, VIEW)
BILLING_EDIT = _perms({"billing": ("feeitem", "meterreading", "billrun", "journalentry")}, ("add", "change"))
BILLING_CASH = {"billing.add_payment", "billing.record_payment", "billing.add_refund"}
BILLING_REFUND_APPROVAL = {"billing.approve_refund"}
BILLING_OWN = _perms({"billing": ("bill", "billline", "payment", "allocation", "refund", "ledgeraccount",
                                  "meterreading")}, VIEW) | {"billing.add_payment"}
BILLING_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: BILLING_VIEW | BILLING_EDIT | BILLING_CASH | BILLING_REFUND_APPROVAL,
    Role.CASHIER: BILLING_VIEW | BILLING_CASH,
    Role.CUSTOMER_SERVICE: BILLING_VIEW,
    **dict.fromkeys(GOVERNMENT, BILLING_VIEW),
    Role.RESIDENT: BILLING_OWN,
}
for _role, _billing in BILLING_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _billing

# Owners' votes: managers and community officers organise votes in their compounds; other government
# roles watch them; residents see the votes of their compounds and cast a ballot for a house they
# own (ownership checked in linli/votes/services.py), seeing only their own houses' ballots.
VOTE_VIEW = _perms({"votes": ("vote", "elector", "ballot")}, VIEW)
VOTE_ORGANISE = VOTE_VIEW | _perms({"votes": ("vote",)}, ("add", "change"))
VOTE_OWN = _perms({"votes": ("vote", "elector", "ballot")}, VIEW) | {"votes.add_ballot"}
VOTES_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: VOTE_ORGANISE,
    Role.COMMUNITY_OFFICER: VOTE_ORGANISE,
    Role.CITY_ADMIN: VOTE_VIEW,
    Role.STREET_OFFICER: VOTE_VIEW,
    Role.GRID_WORKER: VOTE_VIEW,
    Role.RESIDENT: VOTE_OWN,
}
for _role, _votes in VOTES_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _votes

# Which roles a holder of `accounts.add_rolegrant` may hand out (always within their own reach).
GRANTABLE_BY: dict[str, frozenset[str]] = {
    Role.CITY_ADMIN: frozenset(r for r in GRANTED_ON if r != Role.CITY_ADMIN),
    Role.PROPERTY_MANAGER: frozenset(PROPERTY_STAFF),
}

# Resident portal: a compound's managers and customer service verify house binding requests
# (linli/portal/services.py); residents see the requests they filed.
BINDING_VERIFY = _perms({"portal": ("bindingrequest",)}, ("view", "change"))
PORTAL_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: BINDING_VERIFY,
    Role.CUSTOMER_SERVICE: BINDING_VERIFY,
    Role.RESIDENT: {"portal.view_bindingrequest"},
}
for _role, _portal in PORTAL_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _portal

# Notices: every staff and government role reads its compounds' notices; managers, customer service
# and community officers draft, publish and withdraw them and see read rates; managers and community
# officers also send emergency broadcasts. Residents read what reaches their households
# (Notice.resident_q) and leave their own read receipts.
NOTICE_VIEW = _perms({"notices": ("notice",)}, VIEW)
NOTICE_EDIT = NOTICE_VIEW | _perms({"notices": ("notice",)}, ("add", "change")) | {"notices.view_noticeread"}
NOTICE_BROADCAST = NOTICE_EDIT | {"notices.broadcast_notice"}
NOTICES_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: NOTICE_BROADCAST,
    Role.COMMUNITY_OFFICER: NOTICE_BROADCAST,
    Role.CUSTOMER_SERVICE: NOTICE_EDIT,
    **dict.fromkeys((Role.CITY_ADMIN, Role.STREET_OFFICER, Role.GRID_WORKER, Role.GUARD, Role.TECHNICIAN,
                     Role.CASHIER), NOTICE_VIEW),
    Role.RESIDENT: {"notices.view_notice", "notices.add_noticeread"},
}
for _role, _notices in NOTICES_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _notices

# Rentals: staff and government read listings and tenancies of their compounds; managers, customer
# service and community and street officers register tenancies and listings; owners list and let their
# own houses (ownership checked in linli/rentals/services.py) and see their own tenancies. The police
# export (出租房屋登记, full ID numbers) needs `rentals.export_tenancy` and `core.export_list`.
RENTAL_VIEW = _perms({"rentals": ("listing", "tenancy")}, VIEW)
RENTAL_EDIT = RENTAL_VIEW | _perms({"rentals": ("listing", "tenancy")}, ("add", "change"))
RENTAL_EXPORT = {"rentals.export_tenancy"}
RENTALS_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: RENTAL_EDIT | RENTAL_EXPORT,
    Role.COMMUNITY_OFFICER: RENTAL_EDIT | RENTAL_EXPORT,
    Role.STREET_OFFICER: RENTAL_EDIT | RENTAL_EXPORT,
    Role.CUSTOMER_SERVICE: RENTAL_EDIT,
    Role.CITY_ADMIN: RENTAL_VIEW,
    Role.GRID_WORKER: RENTAL_VIEW,
    Role.RESIDENT: RENTAL_EDIT,
}
for _role, _rentals in RENTALS_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _rentals

# Parcels: guards and the service desk register parcels and hand them over against the household's
# code; a manager also sets the reminder policy. Residents see their households' parcels (with the
# codes, linli/parcels/api.py) and confirm their own pickup. Government roles see no parcels.
PARCEL_HANDLE = _perms({"parcels": ("parcel",)}, ("view", "add", "change")) | {"parcels.view_parcelpolicy"}
PARCELS_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: PARCEL_HANDLE | _perms({"parcels": ("parcelpolicy",)}, ("add", "change")),
    Role.GUARD: PARCEL_HANDLE,
    Role.CUSTOMER_SERVICE: PARCEL_HANDLE,
    Role.RESIDENT: {"parcels.view_parcel", "parcels.change_parcel"},
}
for _role, _parcels in PARCELS_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _parcels

# Visitors: visit logs are movement traces (PIPL Art. 28), so only the booth and property staff of the
# compound and the household itself read them. Guards (and managers) admit by code and register
# walk-ins; residents invite for a house they live in (checked in linli/visitors/services.py), cancel
# their invitations and answer their walk-ins; a manager may cancel an invitation too.
VISITOR_DESK = _perms({"visitors": ("invitation", "visit")}, VIEW) | {"visitors.add_visit"}
VISITORS_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: VISITOR_DESK | {"visitors.honour_invitation", "visitors.change_invitation"},
    Role.GUARD: VISITOR_DESK | {"visitors.honour_invitation"},
    Role.CUSTOMER_SERVICE: VISITOR_DESK,
    Role.RESIDENT: _perms({"visitors": ("invitation",)}, ("view", "add", "change"))
    | {"visitors.view_visit", "visitors.change_visit"},
}
for _role, _visitors in VISITORS_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _visitors

# Surveys: the property manager, service desk and community officer put surveys to residents and read
# every answer; other government roles read the results; residents answer surveys put to them.
SURVEY_VIEW = _perms({"surveys": ("survey",)}, VIEW)
SURVEY_ORGANISE = SURVEY_VIEW | _perms({"surveys": ("survey",)}, ("add", "change")) | {"surveys.view_surveyresponse"}
SURVEYS_BY_ROLE: dict[str, set[str]] = {
    Role.PROPERTY_MANAGER: SURVEY_ORGANISE,
    Role.CUSTOMER_SERVICE: SURVEY_ORGANISE,
    Role.COMMUNITY_OFFICER: SURVEY_ORGANISE,
    Role.CITY_ADMIN: SURVEY_VIEW,
    Role.STREET_OFFICER: SURVEY_VIEW,
    Role.GRID_WORKER: SURVEY_VIEW,
    Role.RESIDENT: SURVEY_VIEW | {"surveys.view_surveyresponse", "surveys.add_surveyresponse"},
}
for _role, _surveys in SURVEYS_BY_ROLE.items():
    PERMISSIONS[_role] = PERMISSIONS[_role] | _surveys
