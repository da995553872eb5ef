"""Every API operation × every role: nothing crosses from one scope into another.

Two of everything (streets, property companies, compounds, households). For each user on
side A we aim every operation at side B's records — and, for residents, at the neighbouring
household in their own building — and require a refusal with nothing written, and list and
search results with none of B's rows. Each operation must appear in MATRIX: a new endpoint
without an entry fails this test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from linli.accounts.models import RoleGrant, User
from linli.alarms.models import Alarm
from linli.api import api
from linli.automations.models import Rule, RuleRun
from linli.billing.models import Bill, FeeItem, Payment, Refund
from linli.core.models import AuditEntry
from linli.core.testing import ID_NUMBERS, PHONES, District, Side, add_billing_and_work_orders
from linli.core.tests.apiclient import ApiClient
from linli.devices.models import Device, DeviceCommand, DeviceType
from linli.events.models import DeadLetter, Event
from linli.notices import testing as notice_testing
from linli.notify.models import Delivery, Notification, PushSubscription
from linli.notify.testing import side_ids as notify_ids
from linli.notify.testing import side_records as notify_records
from linli.parcels import testing as parcel_testing
from linli.people import services as people
from linli.people.models import Consent, Organisation, Person, RealUnit, Residency, Vehicle
from linli.places.models import Building, Compound, Grid, House, Region, Unit
from linli.rentals import testing as rental_testing
from linli.surveys.testing import add_surveys
from linli.surveys.testing import side_ids as survey_ids
from linli.surveys.testing import side_records as survey_records
from linli.visitors import testing as visitor_testing
from linli.votes.models import Ballot
from linli.votes.testing import add_votes
from linli.votes.testing import side_ids as vote_ids
from linli.votes.testing import side_records as vote_records
from linli.workorders.models import Category, WorkOrder

pytestmark = pytest.mark.urls("linli.core.tests.api_only_urls")


@dataclass
class Foreign:
    """What a user must never reach: one record of each kind plus every id per model."""

    side: Side
    records: dict[str, Any]
    ids: dict[str, set[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    kind: str  # list, detail, create, write, public, self
    resource: str = ""
    path_param: str = ""
    body: Callable[[Foreign, Side], dict] | None = None
    probes: tuple[Callable[[Foreign], dict], ...] = ()
    path_of: str = ""  # the record the path parameter names, when it is not `resource` (a device's commands)
    fixed: tuple[tuple[str, str], ...] = ()  # values for the other path parameters, e.g. ("index", "0")


def _region_body(f: Foreign, own: Side) -> dict:
    return {"level": "community", "code": f.side.street.code + "099", "name": "越权社区", "parent_id": f.side.street.pk}


MATRIX: dict[str, Op] = {
    # Authentication needs no scope; its behaviour is tested in test_api_basics.
    "create_token": Op("public"),
    "request_login_code": Op("public"),
    "create_token_with_code": Op("public"),
    "get_me": Op("self"),
    "list_regions": Op("list", "region", probes=(lambda f: {"parent_id": f.side.street.pk},
                                                 lambda f: {"q": f.side.community.code})),
    "get_region": Op("detail", "region", "region_id"),
    "create_region": Op("create", body=_region_body),
    "list_grids": Op("list", "grid", probes=(lambda f: {"community_id": f.side.community.pk},)),
    "get_grid": Op("detail", "grid", "grid_id"),
    "list_compounds": Op("list", "compound", probes=(lambda f: {"q": f.side.compound.name},
                                                     lambda f: {"community_id": f.side.community.pk},
                                                     lambda f: {"property_company_id": f.side.company.pk})),
    "get_compound": Op("detail", "compound", "compound_id"),
    "create_compound": Op("create", body=lambda f, own: {"community_id": f.side.community.pk, "name": "越权小区"}),
    "update_compound": Op("write", "compound", "compound_id", body=lambda f, own: {"name": "改名"}),
    "list_buildings": Op("list", "building", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_building": Op("detail", "building", "building_id"),
    "create_building": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "number": "99",
                                                         "floors_above": 6}),
    "update_building": Op("write", "building", "building_id", body=lambda f, own: {"name": "改名"}),
    "delete_building": Op("write", "building", "building_id"),
    "list_units": Op("list", "unit", probes=(lambda f: {"building_id": f.side.building.pk},)),
    "get_unit": Op("detail", "unit", "unit_id"),
    "list_houses": Op("list", "house", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                               lambda f: {"unit_id": f.side.unit.pk},
                                               lambda f: {"q": f.side.house.address_code})),
    "get_house": Op("detail", "house", "house_id"),
    "create_house": Op("create", body=lambda f, own: {"unit_id": f.side.unit.pk, "number": "999", "floor": 6,
                                                      "built_area": "80.00"}),
    "update_house": Op("write", "house", "house_id", body=lambda f, own: {"occupancy": "vacant"}),
    "delete_house": Op("write", "house", "house_id"),
    "list_persons": Op("list", "person", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                 lambda f: {"house_id": f.side.house.pk},
                                                 lambda f: {"q": f.records["person"].name},
                                                 lambda f: {"id_number": f.records["person_id_number"]},
                                                 lambda f: {"phone": f.records["person_phone"]})),
    "get_person": Op("detail", "person", "person_id"),
    "create_person": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "name": "越权",
                                                       "id_number": "110101199003076878"}),
    "update_person": Op("write", "person", "person_id", body=lambda f, own: {"name": "改名"}),
    "reveal_person": Op("write", "person", "person_id"),
    "export_person_data": Op("write", "person", "person_id"),
    "erase_person": Op("write", "person", "person_id", body=lambda f, own: {"reason": "越权删除"}),
    "list_residencies": Op("list", "residency", probes=(lambda f: {"house_id": f.side.house.pk},
                                                        lambda f: {"person_id": f.records["person"].pk})),
    "get_residency": Op("detail", "residency", "residency_id"),
    "create_residency": Op("create", body=lambda f, own: {"person_id": own.owner.pk,
                                                          "house_id": f.records["house"].pk,
                                                          "role": "tenant", "since": "2024-01-01"}),
    "update_residency": Op("write", "residency", "residency_id", body=lambda f, own: {"role": "tenant"}),
    "verify_residency": Op("write", "residency", "residency_id"),
    "delete_residency": Op("write", "residency", "residency_id"),
    "list_organisations": Op("list", "organisation", probes=(lambda f: {"q": f.side.company.name},)),
    "get_organisation": Op("detail", "organisation", "organisation_id"),
    "create_organisation": Op("create", body=lambda f, own: {"kind": "owners_committee", "name": "越权业委会",
                                                             "region_id": f.side.street.pk}),
    "update_organisation": Op("write", "organisation", "organisation_id",
                              body=lambda f, own: {"contact_name": "改名"}),
    "list_real_units": Op("list", "real_unit", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_real_unit": Op("detail", "real_unit", "real_unit_id"),
    "create_real_unit": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "name": "越权店",
                                                          "credit_code": "91370281MA3CZ0001Y"}),
    "update_real_unit": Op("write", "real_unit", "real_unit_id", body=lambda f, own: {"employees": 9}),
    "list_vehicles": Op("list", "vehicle", probes=(lambda f: {"plate": f.records["vehicle"].plate},
                                                   lambda f: {"house_id": f.side.house.pk})),
    "get_vehicle": Op("detail", "vehicle", "vehicle_id"),
    "create_vehicle": Op("create", body=lambda f, own: {"compound_id": own.compound.pk, "plate": "鲁B99999",
                                                        "house_id": f.records["house"].pk}),
    "update_vehicle": Op("write", "vehicle", "vehicle_id", body=lambda f, own: {"brand": "改"}),
    "delete_vehicle": Op("write", "vehicle", "vehicle_id"),
    "list_consents": Op("list", "consent", probes=(lambda f: {"person_id": f.records["person"].pk},)),
    "get_consent": Op("detail", "consent", "consent_id"),
    "create_consent": Op("create", body=lambda f, own: {"person_id": f.records["person"].pk,
                                                        "purpose": "face_access", "scope": "越权"}),
    "withdraw_consent": Op("write", "consent", "consent_id"),
    "list_staff": Op("list", "staff", probes=(lambda f: {"q": f.records["staff"].username},
                                              lambda f: {"role": "guard"})),
    "get_staff": Op("detail", "staff", "user_id"),
    "create_staff": Op("create", body=lambda f, own: {"username": "intruder", "password": "long-enough-1",
                                                      "role": "guard", "compound_id": f.side.compound.pk}),
    "update_staff": Op("write", "staff", "user_id", body=lambda f, own: {"is_active": False}),
    "grant_role": Op("write", "staff", "user_id", body=lambda f, own: {"role": "guard",
                                                                       "compound_id": own.compound.pk}),
    "revoke_grant": Op("write", "grant", "grant_id"),
    "create_resident_account": Op("write", "family", "person_id"),
    # Files: a template holds no data; an import aimed at B must write nothing; every export list
    # must hold none of B's rows.
    "download_import_template": Op("public"),
    "import_sheet": Op("import"),
    "export_list": Op("export"),
    "list_device_types": Op("list", "device_type"),
    "list_devices": Op("list", "device", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                 lambda f: {"q": f.records["device"].code})),
    "get_device": Op("detail", "device", "device_id"),
    # Health figures of a foreign compound are refused (404), like its records.
    "get_device_health": Op("detail", "compound", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "list_device_outages": Op("detail", "device", "device_id"),
    "register_device": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk,
                                                         "device_type_id": f.records["device"].device_type_id,
                                                         "serial": "X-1", "name": "越权设备"}),
    "update_device": Op("write", "device", "device_id", body=lambda f, own: {"lifecycle": "disabled"}),
    "issue_device_credential": Op("write", "device", "device_id", body=lambda f, own: {"kind": "http_token"}),
    "list_events": Op("list", "event", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                               lambda f: {"device_id": f.records["device"].pk})),
    "get_event": Op("detail", "event", "event_id"),
    "get_event_evidence": Op("detail", "event", "event_id", fixed=(("index", "0"),)),
    "list_dead_letters": Op("list", "dead_letter", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_dead_letter": Op("detail", "dead_letter", "dead_letter_id"),
    "list_alarms": Op("list", "alarm", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                               lambda f: {"type": "fire_lane"})),
    "get_alarm": Op("detail", "alarm", "alarm_id"),
    "acknowledge_alarm": Op("write", "alarm", "alarm_id"),
    "dispatch_alarm": Op("write", "alarm", "alarm_id", body=lambda f, own: {"assignee_id": own.users["guard"].pk}),
    "resolve_alarm": Op("write", "alarm", "alarm_id", body=lambda f, own: {"note": "越权"}),
    "comment_alarm": Op("write", "alarm", "alarm_id", body=lambda f, own: {"text": "越权"}),
    "arrive_alarm": Op("write", "alarm", "alarm_id", body=lambda f, own: {"note": "越权"}),
    "send_device_command": Op("write", "device", "device_id", body=lambda f, own: {"name": "self_test"}),
    "list_device_commands": Op("list", "command", "device_id", path_of="device"),
    "list_rules": Op("list", "rule", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                             lambda f: {"q": f.records["rule"].name})),
    "get_rule": Op("detail", "rule", "rule_id"),
    "create_rule": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "name": "越权规则",
                                                     "definition": f.records["rule"].definition}),
    "update_rule": Op("write", "rule", "rule_id", body=lambda f, own: {"enabled": True}),
    "delete_rule": Op("write", "rule", "rule_id"),
    "list_rule_runs": Op("list", "rule_run", "rule_id", path_of="rule"),
    "list_rule_templates": Op("public"),
    "install_rule_template": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk,
                                                               "key": "smoke", "name": "越权模板"}),
    "list_audit_entries": Op("list", "audit_entry", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_audit_entry": Op("detail", "audit_entry", "entry_id"),
    # Notifications: the outbox is scoped like alarms; inbox, push subscriptions and WeChat are the caller's own.
    "list_notifications": Op("list", "notification", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                             lambda f: {"alarm_id": f.side.alarm.pk})),
    "get_notification": Op("detail", "notification", "notification_id"),
    "list_inbox": Op("list", "inbox", probes=(lambda f: {"unread": True},)),
    "count_unread_inbox": Op("self"),
    "mark_inbox_read": Op("write", "inbox", "delivery_id"),
    "mark_inbox_all_read": Op("self"),
    "get_webpush_key": Op("self"),
    "subscribe_webpush": Op("self"),
    "unsubscribe_webpush": Op("write", "push_subscription", "subscription_id"),
    "bind_wechat": Op("self"),
    "unbind_wechat": Op("self"),
    # Billing: money in fen; a resident reaches only the bills and payments of their own house.
    "list_fee_items": Op("list", "fee_item", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_fee_item": Op("detail", "fee_item", "fee_item_id"),
    "create_fee_item": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "name": "越权收费",
                                                         "kind": "fixed_monthly", "amount_fen": 100}),
    "update_fee_item": Op("write", "fee_item", "fee_item_id", body=lambda f, own: {"name": "改名"}),
    "run_bills": Op("write", "fee_item", "fee_item_id", body=lambda f, own: {"period": "2020-02"}),
    "list_bills": Op("list", "bill", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                             lambda f: {"house_id": f.records["house"].pk})),
    "get_bill": Op("detail", "bill", "bill_id"),
    "list_payments": Op("list", "payment", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                   lambda f: {"house_id": f.records["house"].pk})),
    "get_payment": Op("detail", "payment", "payment_id"),
    "start_payment": Op("create", body=lambda f, own: {"bill_ids": [f.records["bill"].pk]}),
    "record_cash_payment": Op("create", body=lambda f, own: {"bill_ids": [f.records["bill"].pk], "amount_fen": 100}),
    "pay_online": Op("create", body=lambda f, own: {"bill_ids": [f.records["bill"].pk], "provider": "wechatpay",
                                                    "scene": "native"}),
    "refresh_payment": Op("write", "payment", "payment_id"),
    "get_payment_receipt": Op("detail", "payment", "payment_id"),
    "list_refunds": Op("list", "refund", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "request_refund": Op("write", "payment", "payment_id", body=lambda f, own: {"amount_fen": 1, "reason": "越权"}),
    "approve_refund": Op("write", "refund", "refund_id"),
    "reject_refund": Op("write", "refund", "refund_id"),
    "get_disclosure": Op("detail", "compound", "compound_id", probes=(lambda f: {"year": 2020, "month": 1},)),
    "get_prepaid_balance": Op("detail", "house", "house_id"),
    # Work orders: every move is aimed at the other side's order (or, for a resident, the neighbour's).
    "list_workorder_categories": Op("list", "category", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_workorder_category": Op("detail", "category", "category_id"),
    "create_workorder_category": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "code": "intrude",
                                                                   "kind": "repair", "name": "越权",
                                                                   "deadline_minutes": 60}),
    "update_workorder_category": Op("write", "category", "category_id", body=lambda f, own: {"name": "改名"}),
    "list_work_orders": Op("list", "work_order", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                         lambda f: {"category_id": f.side.category.pk})),
    "list_grab_pool": Op("list", "work_order", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_work_order": Op("detail", "work_order", "order_id"),
    "report_work_order": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk,
                                                           "category_id": f.side.category.pk, "title": "越权报事"}),
    "accept_work_order": Op("write", "work_order", "order_id"),
    "assign_work_order": Op("write", "work_order", "order_id",
                            body=lambda f, own: {"assignee_id": f.side.users["technician"].pk}),
    "grab_work_order": Op("write", "work_order", "order_id"),
    "start_work_order": Op("write", "work_order", "order_id"),
    "complete_work_order": Op("write", "work_order", "order_id"),
    "visit_work_order": Op("write", "work_order", "order_id", body=lambda f, own: {"rating": 5}),
    "close_work_order": Op("write", "work_order", "order_id"),
    "transfer_work_order": Op("write", "work_order", "order_id",
                              body=lambda f, own: {"assignee_id": f.side.users["technician"].pk}),
    "return_work_order": Op("write", "work_order", "order_id", body=lambda f, own: {"note": "越权"}),
    "suspend_work_order": Op("write", "work_order", "order_id", body=lambda f, own: {"reason": "越权"}),
    "resume_work_order": Op("write", "work_order", "order_id"),
    "reopen_work_order": Op("write", "work_order", "order_id", body=lambda f, own: {"reason": "越权"}),
    "cancel_work_order": Op("write", "work_order", "order_id", body=lambda f, own: {"reason": "越权"}),
    # Parcels: B's parcel is out of reach even with its right code; a resident reaches only their house's.
    "list_parcels": Op("list", "parcel", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                 lambda f: {"house_id": f.records["house"].pk},
                                                 lambda f: {"tracking_no": "SF0000000001"})),
    "get_parcel": Op("detail", "parcel", "parcel_id"),
    "register_parcel": Op("create", body=lambda f, own: {"house_id": f.records["house"].pk, "courier": "越权"}),
    "pick_up_parcel": Op("write", "parcel", "parcel_id",
                         body=lambda f, own: {"pickup_code": f.records["parcel"].pickup_code}),
    "return_parcel": Op("write", "parcel", "parcel_id", body=lambda f, own: {"reason": "越权"}),
    # Visitors: B's invitations, codes and visits are out of reach; so are the neighbour's for a resident.
    "list_invitations": Op("list", "invitation", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                         lambda f: {"house_id": f.records["house"].pk})),
    "get_invitation": Op("detail", "invitation", "invitation_id"),
    "create_invitation": Op("create", body=lambda f, own: {"house_id": f.records["house"].pk, "visitor_name": "越权",
                                                           "starts_at": "2030-01-01T08:00:00+08:00",
                                                           "ends_at": "2030-01-01T20:00:00+08:00"}),
    "cancel_invitation": Op("write", "invitation", "invitation_id"),
    "honour_invitation": Op("create", body=lambda f, own: {"code": f.records["invitation_code"]}),
    "register_walk_in": Op("create", body=lambda f, own: {"house_id": f.records["house"].pk, "visitor_name": "越权"}),
    "answer_walk_in": Op("write", "visit", "visit_id", body=lambda f, own: {"admit": True}),
    "list_visits": Op("list", "visit", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                               lambda f: {"house_id": f.records["house"].pk})),
    "get_visit": Op("detail", "visit", "visit_id"),
    "get_workorder_sla": Op("detail", "compound", "compound_id",
                            probes=(lambda f: {"since": "2020-01-01", "until": "2030-01-01"},)),
    # A JSON body to the multipart upload is refused too; test_photos checks uploads into B's compound.
    "upload_workorder_photo": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk}),
    "get_workorder_photo": Op("detail", "work_order", "order_id", fixed=(("which", "report"), ("index", "0"))),
    # Votes: B's votes are out of reach; a resident casts only for a house of their own household.
    "list_votes": Op("list", "vote", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                             lambda f: {"status": "open"})),
    "get_vote": Op("detail", "vote", "vote_id"),
    "create_vote": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "title": "越权表决",
                                                     "closes_at": "2099-01-01T00:00:00+08:00"}),
    "open_vote": Op("write", "draft_vote", "vote_id"),
    "close_vote": Op("write", "vote", "vote_id"),
    "cast_ballot": Op("write", "vote", "vote_id", body=lambda f, own: {"house_id": f.records["house"].pk,
                                                                       "choice": "approve"}),
    "list_vote_ballots": Op("list", "ballot", "vote_id", path_of="vote"),
    "get_vote_result": Op("detail", "vote", "vote_id"),
    "list_vote_receipts": Op("detail", "vote", "vote_id"),
    # Surveys: B's surveys are out of reach; residents answer what was put to their compound.
    "list_surveys": Op("list", "survey", probes=(lambda f: {"compound_id": f.side.compound.pk},)),
    "get_survey": Op("detail", "survey", "survey_id"),
    "create_survey": Op("create", body=lambda f, own: {
        "compound_id": f.side.compound.pk, "title": "越权问卷", "closes_at": "2030-01-01T00:00:00+08:00",
        "questions": [{"key": "q", "text": "问题", "kind": "single", "options": ["是", "否"]}]}),
    "open_survey": Op("write", "draft_survey", "survey_id"),
    "close_survey": Op("write", "survey", "survey_id"),
    "respond_to_survey": Op("write", "survey", "survey_id", body=lambda f, own: {"answers": {"parking": "反对"}}),
    "get_survey_results": Op("detail", "survey", "survey_id"),
    # Notices: a resident reads only published notices reaching their household, never role-only ones.
    "list_notices": Op("list", "notice", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                 lambda f: {"building_id": f.side.building.pk})),
    "count_unread_notices": Op("self"),
    "get_notice": Op("detail", "notice", "notice_id"),
    "create_notice": Op("create", body=lambda f, own: {"compound_id": f.side.compound.pk, "title": "越权",
                                                       "body": "越权"}),
    "broadcast_emergency_notice": Op("create", body=lambda f, own: {"building_id": f.side.building.pk,
                                                                    "title": "越权", "body": "越权"}),
    "publish_notice": Op("write", "notice", "notice_id"),
    "withdraw_notice": Op("write", "notice", "notice_id", body=lambda f, own: {"reason": "越权"}),
    "mark_notice_read": Op("write", "notice", "notice_id"),
    "get_notice_reads": Op("detail", "notice", "notice_id"),
    # Rentals: B's listings and tenancies are out of reach; only a house's owner or staff let it.
    "list_rental_listings": Op("list", "listing", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                          lambda f: {"house_id": f.records["listing"].house_id})),
    "get_rental_listing": Op("detail", "listing", "listing_id"),
    "create_rental_listing": Op("create", body=lambda f, own: {"house_id": f.records["house"].pk, "rent_fen": 100,
                                                               "available_from": "2024-01-01"}),
    "withdraw_rental_listing": Op("write", "listing", "listing_id"),
    "list_tenancies": Op("list", "tenancy", probes=(lambda f: {"compound_id": f.side.compound.pk},
                                                    lambda f: {"house_id": f.records["tenancy"].house_id},
                                                    lambda f: {"tenant_id": f.records["tenancy"].tenant_id})),
    "get_tenancy": Op("detail", "tenancy", "tenancy_id"),
    "register_tenancy": Op("create", body=lambda f, own: {
        "house_id": f.records["house"].pk, "tenant_name": "越权", "id_number": "110101199003076878",
        "lease_start": "2024-01-01", "lease_end": "2025-01-01", "rent_fen": 1}),
    "end_tenancy": Op("write", "tenancy", "tenancy_id", body=lambda f, own: {"on": "2024-06-30"}),
    "export_rental_registrations": Op("detail", "compound", probes=(lambda f: {"compound_id": f.side.compound.pk,
                                                                               "format": "xlsx"},)),
}

MODELS = {"region": Region, "grid": Grid, "compound": Compound, "building": Building, "unit": Unit,
          "house": House, "person": Person, "residency": Residency, "organisation": Organisation,
          "real_unit": RealUnit, "vehicle": Vehicle, "consent": Consent, "audit_entry": AuditEntry,
          "staff": User, "grant": RoleGrant, "family": Person, "device": Device, "event": Event,
          "dead_letter": DeadLetter, "device_type": DeviceType, "alarm": Alarm,
          "command": DeviceCommand, "rule": Rule, "rule_run": RuleRun, "notification": Notification,
          "inbox": Delivery, "push_subscription": PushSubscription, "fee_item": FeeItem, "bill": Bill,
          "payment": Payment, "refund": Refund, "category": Category, "work_order": WorkOrder}


def operations() -> list[tuple[str, str, str]]:
    schema = api.get_openapi_schema()
    return [(op["operationId"], method, path) for path, item in schema["paths"].items()
            for method, op in item.items()]


def test_every_api_operation_is_in_the_matrix():
    missing = sorted(op_id for op_id, _, _ in operations() if op_id not in MATRIX)
    assert not missing, f"add these operations to the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - {op_id for op_id, _, _ in operations()})
    assert not stale, f"the matrix names operations that no longer exist: {stale}"


def _side_ids(side: Side) -> dict[str, set[Any]]:
    c = side.compound
    return {
        "region": {side.street.pk, side.community.pk},
        "grid": {side.grid.pk},
        "compound": {c.pk},
        "building": set(Building.objects.filter(compound=c).values_list("pk", flat=True)),
        "unit": set(Unit.objects.filter(compound=c).values_list("pk", flat=True)),
        "house": set(House.objects.filter(compound=c).values_list("pk", flat=True)),
        "person": set(Person.objects.filter(compound=c).values_list("pk", flat=True)),
        "residency": set(Residency.objects.filter(compound=c).values_list("pk", flat=True)),
        "organisation": {side.company.pk},
        "real_unit": set(RealUnit.objects.filter(compound=c).values_list("pk", flat=True)),
        "vehicle": set(Vehicle.objects.filter(compound=c).values_list("pk", flat=True)),
        "consent": set(Consent.objects.filter(compound=c).values_list("pk", flat=True)),
        "audit_entry": set(AuditEntry.objects.filter(compound=c).values_list("pk", flat=True)),
        "device": set(Device.objects.filter(compound=c).values_list("pk", flat=True)),
        "event": set(Event.objects.filter(compound=c).values_list("pk", flat=True)),
        "dead_letter": set(DeadLetter.objects.filter(compound=c).values_list("pk", flat=True)),
        "device_type": set(),  # the catalogue of types is shared reference data
        "alarm": set(Alarm.objects.filter(compound=c).values_list("pk", flat=True)),
        "command": set(DeviceCommand.objects.filter(compound=c).values_list("pk", flat=True)),
        "rule": set(Rule.objects.filter(compound=c).values_list("pk", flat=True)),
        "rule_run": set(RuleRun.objects.filter(compound=c).values_list("pk", flat=True)),
        "staff": {u.pk for role, u in side.users.items() if role != "resident"},
        "grant": set(RoleGrant.objects.filter(user__in=[u for r, u in side.users.items() if r != "resident"])
                     .values_list("pk", flat=True)),
        **notify_ids(side),
        "fee_item": set(FeeItem.objects.filter(compound=c).values_list("pk", flat=True)),
        "bill": set(Bill.objects.filter(compound=c).values_list("pk", flat=True)),
        "payment": set(Payment.objects.filter(compound=c).values_list("pk", flat=True)),
        "refund": set(Refund.objects.filter(compound=c).values_list("pk", flat=True)),
        "category": set(Category.objects.filter(compound=c).values_list("pk", flat=True)),
        "work_order": set(WorkOrder.objects.filter(compound=c).values_list("pk", flat=True)),
        **notice_testing.side_ids(side), **rental_testing.side_ids(side),
        **parcel_testing.side_ids(side), **visitor_testing.side_ids(side),
        **vote_ids(side),
        **survey_ids(side),
    }


def _staff_foreign(other: Side, other_tag: str) -> Foreign:
    records = {"region": other.street, "grid": other.grid, "compound": other.compound, "building": other.building,
               "unit": other.unit, "house": other.house, "person": other.owner, "residency": other.residency,
               "organisation": other.company, "real_unit": other.real_unit, "vehicle": other.vehicle,
               "consent": other.consent,
               "audit_entry": AuditEntry.objects.filter(compound=other.compound).order_by("id").first(),
               "person_id_number": ID_NUMBERS[f"{other_tag}_owner"], "person_phone": PHONES[f"{other_tag}_owner"],
               "staff": other.users["guard"], "grant": other.users["guard"].grants.first(), "family": other.family,
               "device": other.device, "event": other.event, "dead_letter": other.dead_letter,
               "alarm": other.alarm, "command": other.command, "rule": other.rule, "rule_run": other.rule_run,
               "fee_item": other.fee_item, "bill": other.bill, "payment": other.payment, "refund": other.refund,
               "category": other.category, "work_order": other.work_order, **notify_records(other),
               **vote_records(other), **survey_records(other)}
    records.update(parcel_testing.side_records(other) | visitor_testing.side_records(other))
    records.update(notice_testing.side_records(other) | rental_testing.side_records(other, other_tag))
    return Foreign(other, records, _side_ids(other))


def _neighbour_foreign(d: District, neighbour: Person, residency: Residency, neighbour_order: WorkOrder) -> Foreign:
    """For a resident of side A: the household next door (same building, same unit)."""
    a = d.a
    own_house = a.house.pk
    records = {"fee_item": d.b.fee_item, "bill": Bill.objects.get(house=a.other_house, fee_item=a.fee_item),
               "payment": d.b.payment, "refund": d.b.refund, "category": d.b.category, "work_order": neighbour_order,
               "region": d.b.street, "grid": a.grid, "compound": d.b.compound, "building": d.b.building,
               "unit": d.b.unit, "house": a.other_house, "person": neighbour, "residency": residency,
               "organisation": d.b.company, "real_unit": a.real_unit, "vehicle": d.b.vehicle,
               "consent": d.b.consent,
               "audit_entry": AuditEntry.objects.filter(compound=a.compound).order_by("id").first(),
               "person_id_number": ID_NUMBERS["a_neighbour"], "person_phone": PHONES["a_neighbour"],
               "staff": a.users["guard"], "grant": a.users["guard"].grants.first(), "family": neighbour,
               "device": a.device, "event": a.event, "dead_letter": a.dead_letter, "alarm": a.alarm,
               "command": a.command, "rule": a.rule, "rule_run": a.rule_run, **notify_records(d.b),
               **vote_records(d.b), **survey_records(d.b)}
    records.update(parcel_testing.neighbour_records(d) | visitor_testing.neighbour_records(d, neighbour))
    records.update(notice_testing.side_records(d.b) | rental_testing.side_records(d.b, "b"))
    ids = _side_ids(d.b)
    ids["house"] = ids["house"] | {a.other_house.pk}
    ids["person"] = ids["person"] | {neighbour.pk}
    ids["residency"] = ids["residency"] | {residency.pk}
    ids["real_unit"] = ids["real_unit"] | {a.real_unit.pk}
    ids["audit_entry"] = set(AuditEntry.objects.values_list("pk", flat=True))  # residents read no audit log
    ids["grid"] = {a.grid.pk, d.b.grid.pk}
    ids["staff"] = set(User.objects.filter(kind="staff").values_list("pk", flat=True))  # residents manage no staff
    ids["grant"] = set(RoleGrant.objects.values_list("pk", flat=True))
    # Residents see no devices, events or dead letters at all.
    ids["device"] = set(Device.objects.values_list("pk", flat=True))
    ids["event"] = set(Event.objects.values_list("pk", flat=True))
    ids["dead_letter"] = set(DeadLetter.objects.values_list("pk", flat=True))
    ids["alarm"] = set(Alarm.objects.values_list("pk", flat=True))
    ids["command"] = set(DeviceCommand.objects.values_list("pk", flat=True))
    ids["rule"] = set(Rule.objects.values_list("pk", flat=True))
    ids["rule_run"] = set(RuleRun.objects.values_list("pk", flat=True))
    ids["notification"] = set(Notification.objects.values_list("pk", flat=True))
    # Residents set no tariffs and see only their own compound's categories; of bills, payments, refunds,
    # orders and ballots only their own.
    ids["fee_item"] = set(FeeItem.objects.values_list("pk", flat=True))
    ids["category"] = set(Category.objects.exclude(compound=a.compound).values_list("pk", flat=True))
    ids["ballot"] = set(Ballot.objects.exclude(house_id=own_house).values_list("pk", flat=True))
    ids["bill"] = set(Bill.objects.exclude(house_id=own_house).values_list("pk", flat=True))
    ids["payment"] = set(Payment.objects.exclude(house_id=own_house).values_list("pk", flat=True))
    ids["refund"] = set(Refund.objects.exclude(payment__house_id=own_house).values_list("pk", flat=True))
    ids["work_order"] = set(WorkOrder.objects.exclude(reporter_person=a.owner).values_list("pk", flat=True))
    ids.update(parcel_testing.resident_ids(d) | visitor_testing.resident_ids(d))
    ids["notice"] = ids["notice"] | notice_testing.hidden_from_residents(a)  # drafts and role-only notices
    return Foreign(d.b, records, ids)


def _fill(path: str, op: Op, foreign: Foreign) -> str:
    if not op.path_param:
        return path.removeprefix("/api")
    record = foreign.records[op.path_of or op.resource]
    for name, value in op.fixed:
        path = path.replace("{" + name + "}", value)
    return path.replace("{" + op.path_param + "}", str(record.pk)).removeprefix("/api")


def _check_user(label: str, user: Any, own: Side, foreign: Foreign, failures: list[str]) -> None:
    client = ApiClient(user)
    for op_id, method, path in operations():
        op = MATRIX.get(op_id)
        if op is None:
            failures.append(f"{op_id} is not in the matrix")
            continue
        if op.kind in ("public", "self"):
            continue
        url = "/api" + _fill(path, op, foreign)
        if op.kind == "export":
            _check_exports(label, client, path, foreign, failures)
            continue
        if op.kind == "import":
            _check_import(label, client, url, own, foreign, failures)
            continue
        if op.kind == "list":
            forbidden = foreign.ids[op.resource]
            for params in ({}, *(probe(foreign) for probe in op.probes)):
                response = client.get(url, limit=500, **params)
                if response.status_code >= 500:
                    failures.append(f"{label} {op_id} {params}: {response.status_code}")
                    continue
                if response.status_code != 200:
                    continue
                leaked = {item["id"] for item in response.json()["items"]} & forbidden
                if leaked:
                    failures.append(f"{label} {op_id} {params}: sees {op.resource} {sorted(leaked)}")
            continue
        if op.kind == "detail":
            response = client.get(url, **(op.probes[0](foreign) if op.probes else {}))
            if response.status_code not in (403, 404):
                failures.append(f"{label} {op_id}: {response.status_code} on a foreign {op.resource}")
            continue
        before = AuditEntry.objects.count()
        body = op.body(foreign, own) if op.body else None
        if body is None and method not in ("get", "delete"):
            body = {}
        response = client.call(method, url, body)
        if response.status_code < 400 or response.status_code >= 500:
            failures.append(f"{label} {op_id}: {response.status_code} on a foreign target")
        if AuditEntry.objects.count() != before:
            failures.append(f"{label} {op_id}: something was written")


def _markers(foreign: Foreign) -> list[str]:
    """Text that only B's rows (or the neighbour's) would put into a file."""
    r = foreign.records
    return [r["compound"].name, r["compound"].code, r["person"].name, r["vehicle"].plate,
            r["house"].standard_address, r["family"].name]


def _check_exports(label: str, client: ApiClient, path: str, foreign: Foreign, failures: list[str]) -> None:
    from linli.core.tests.test_privacy_scan import _body_text
    from linli.exchange.selectors import EXPORT_LISTS

    for name in EXPORT_LISTS:
        response = client.get("/api" + path.removeprefix("/api").replace("{list_name}", name))
        if response.status_code >= 500:
            failures.append(f"{label} export {name}: {response.status_code}")
        if response.status_code != 200:
            continue
        text = _body_text(response)
        leaked = [m for m in _markers(foreign) if m and m in text]
        if leaked:
            failures.append(f"{label} export {name}: holds {leaked}")


def _check_import(label: str, client: ApiClient, url: str, own: Side, foreign: Foreign, failures: list[str]) -> None:
    from io import BytesIO

    from openpyxl import Workbook

    house = foreign.records["house"]
    rows = [["小区编码", "楼号", "单元号", "房号", "楼层", "建筑面积", "套内面积", "用途", "居住状态"],
            [house.compound.code, house.building.number, house.unit.number, "888", 5, 80, "", "住宅", "自住"]]
    book = Workbook()
    for row in rows:
        book.active.append(row)
    data = BytesIO()
    book.save(data)
    before = AuditEntry.objects.count()
    for dry_run in ("true", "false"):
        data.seek(0)
        data.name = "houses.xlsx"
        response = client.client.post(url, {"kind": "houses", "dry_run": dry_run, "file": data})
        ok = response.status_code == 200 and response.json().get("ok")
        if ok or response.status_code >= 500:
            failures.append(f"{label} import_sheet (dry_run={dry_run}): {response.status_code} accepted")
    if AuditEntry.objects.count() != before or House.objects.filter(number="888").exists():
        failures.append(f"{label} import_sheet: something was written")


def _check_own_reads(label: str, user: Any, own: Side, failures: list[str]) -> None:
    """Control: what the role may view on its own side is really readable, so refusals mean something."""
    client = ApiClient(user)
    scope = user.scope()
    own_records = {"compound": own.compound, "house": own.house, "person": own.owner, "vehicle": own.vehicle}
    for op_id, resource, prefix in (("get_compound", "compound", "/api/places/compounds/"),
                                    ("get_house", "house", "/api/places/houses/"),
                                    ("get_person", "person", "/api/people/persons/"),
                                    ("get_vehicle", "vehicle", "/api/people/vehicles/")):
        model = MODELS[resource]
        allowed = scope.allows(f"{model._meta.app_label}.view_{model._meta.model_name}")
        status = client.get(prefix + str(own_records[resource].pk)).status_code
        if allowed and status != 200:
            failures.append(f"{label} {op_id}: own {resource} gives {status}")
        if not allowed and status not in (403, 404):
            failures.append(f"{label} {op_id}: own {resource} without permission gives {status}")


def test_no_role_reads_or_writes_outside_its_scope(district):
    d = district
    neighbour = people.create_person(actor=d.admin, compound=d.a.compound, name="邻居",
                                     id_type="mainland_id", id_number=ID_NUMBERS["a_neighbour"],
                                     phone=PHONES["a_neighbour"])
    neighbour_residency = people.add_residency(actor=d.admin, person=neighbour, house=d.a.other_house,
                                               role="owner", since=dt.date(2019, 5, 1))
    add_billing_and_work_orders(d)
    for tag, side in (("a", d.a), ("b", d.b)):
        notice_testing.side_records(side)
        rental_testing.side_records(side, tag)
    add_votes(d)
    add_surveys(d)
    from linli.workorders import services as workorders

    neighbour_order = workorders.submit(actor=d.a.users["customer_service"], compound=d.a.compound,
                                        category=d.a.category, title="邻居家漏水", house=d.a.other_house,
                                        reporter_person=neighbour)
    failures: list[str] = []
    checked = 0
    for tag, own, other_tag, other in (("a", d.a, "b", d.b), ("b", d.b, "a", d.a)):
        foreign = _staff_foreign(other, other_tag)
        for role, user in own.users.items():
            if role == "resident":
                continue
            _check_user(f"{role}_{tag}", user, own, foreign, failures)
            _check_own_reads(f"{role}_{tag}", user, own, failures)
            checked += 1
    # Two households: the resident of a's 501 against b's records and against 502 next door.
    _check_user("resident_a", d.a.users["resident"], d.a, _neighbour_foreign(d, neighbour, neighbour_residency, neighbour_order),
                failures)
    _check_own_reads("resident_a", d.a.users["resident"], d.a, failures)
    _check_user("resident_b", d.b.users["resident"], d.b, _staff_foreign(d.a, "a"), failures)
    checked += 2
    assert checked == 20
    assert not failures, "\n".join(failures)


def test_a_city_admin_reaches_both_streets(district):
    client = ApiClient(district.city_admin)
    ids = {item["id"] for item in client.get("/api/places/compounds", limit=500).json()["items"]}
    assert {district.a.compound.pk, district.b.compound.pk} <= ids
    assert client.get(f"/api/people/persons/{district.b.owner.pk}").status_code == 200
