"""REST endpoints for notifications (/api/notifications/…): the staff outbox view, everyone's
own inbox, Web Push subscriptions and the WeChat binding."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from linli.core.api import ERRORS, Id, PageQuery, Payload, api_enum, page, paged
from linli.notify import selectors, services
from linli.notify.models import Category, Channel, DeliveryStatus, Severity

DeliveryChannel = api_enum("DeliveryChannel", Channel)
NotificationSeverity = api_enum("NotificationSeverity", Severity)

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    compound_id: int
    category: Category
    severity: NotificationSeverity
    title: str
    body: str
    link: str
    source: str
    alarm_id: int | None
    life_safety: bool
    created_at: dt.datetime
    recipient_count: int
    delivery_status: dict[str, int] = Field(default_factory=dict, description="how many deliveries are in each status")


class DeliveryOut(Schema):
    id: int
    recipient_id: int
    channel: DeliveryChannel
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    read_at: dt.datetime | None


class NotificationDetailOut(NotificationOut):
    deliveries: list[DeliveryOut]


class NotificationFilter(Schema):
    compound_id: Id | None = None
    category: Category | None = None
    severity: NotificationSeverity | None = None
    alarm_id: Id | None = None


class InboxItemOut(Schema):
    id: int
    notification_id: int
    compound_id: int = Field(alias="notification.compound_id")
    category: Category = Field(alias="notification.category")
    severity: NotificationSeverity = Field(alias="notification.severity")
    title: str = Field(alias="notification.title")
    body: str = Field(alias="notification.body")
    link: str = Field(alias="notification.link")
    alarm_id: int | None = Field(alias="notification.alarm_id")
    life_safety: bool = Field(alias="notification.life_safety")
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxFilter(Schema):
    unread: bool = False


class InboxUnreadOut(Schema):
    unread: int


class UpdatedOut(Schema):
    updated: int


class VapidKeyOut(Schema):
    public_key: str = Field(description="VAPID application server key (base64url) for PushManager.subscribe")


class PushKeysIn(Payload):
    p256dh: str = Field(min_length=80, max_length=200)
    auth: str = Field(min_length=16, max_length=60)


class PushSubscriptionIn(Payload):
    endpoint: str = Field(min_length=10, max_length=600)
    keys: PushKeysIn


class PushSubscriptionOut(Schema):
    id: int
    endpoint: str
    created_at: dt.datetime


class WechatCodeIn(Payload):
    code: str = Field(min_length=1, max_length=200, description="wx.login() code from the mini-program")


class WechatBindingOut(Schema):
    bound: bool


@router.get("", response={200: paged(NotificationOut), **ERRORS}, operation_id="list_notifications")
def list_notifications(request: HttpRequest, filters: Query[NotificationFilter], pg: Query[PageQuery]):
    f = filters.dict()
    f["category"], f["severity"] = f["category"] or "", f["severity"] or ""
    result = page(selectors.notifications(request.user, **f), pg)
    counts = selectors.delivery_counts([n.pk for n in result["items"]])
    for n in result["items"]:
        n.delivery_status = counts.get(n.pk, {})
    return result


@router.get("/inbox", response={200: paged(InboxItemOut), **ERRORS}, operation_id="list_inbox")
def list_inbox(request: HttpRequest, filters: Query[InboxFilter], pg: Query[PageQuery]):
    return page(selectors.inbox(request.user, unread=filters.unread), pg)


@router.get("/inbox/unread-count", response={200: InboxUnreadOut, **ERRORS}, operation_id="count_unread_inbox")
def count_unread_inbox(request: HttpRequest):
    return {"unread": selectors.unread_count(request.user)}


@router.post("/inbox/read-all", response={200: UpdatedOut, **ERRORS}, operation_id="mark_inbox_all_read")
def mark_inbox_all_read(request: HttpRequest):
    return {"updated": services.mark_all_read(actor=request.user)}


@router.post("/inbox/{delivery_id}/read", response={200: InboxItemOut, **ERRORS}, operation_id="mark_inbox_read")
def mark_inbox_read(request: HttpRequest, delivery_id: Id):
    return services.mark_read(actor=request.user, delivery_id=delivery_id)


@router.get("/webpush/key", response={200: VapidKeyOut, **ERRORS}, operation_id="get_webpush_key")
def get_webpush_key(request: HttpRequest):
    from linli.notify.webpush import vapid_public_key

    return {"public_key": vapid_public_key()}


@router.post("/webpush/subscriptions", response={201: PushSubscriptionOut, **ERRORS},
             operation_id="subscribe_webpush")
def subscribe_webpush(request: HttpRequest, payload: PushSubscriptionIn):
    return Status(201, services.subscribe_webpush(actor=request.user, endpoint=payload.endpoint,
                                                  p256dh=payload.keys.p256dh, auth=payload.keys.auth))


@router.delete("/webpush/subscriptions/{subscription_id}", response={204: None, **ERRORS},
               operation_id="unsubscribe_webpush")
def unsubscribe_webpush(request: HttpRequest, subscription_id: Id):
    services.unsubscribe_webpush(actor=request.user, subscription_id=subscription_id)
    return Status(204, None)


@router.post("/wechat/binding", response={200: WechatBindingOut, **ERRORS}, operation_id="bind_wechat")
def bind_wechat(request: HttpRequest, payload: WechatCodeIn):
    services.bind_wechat(actor=request.user, code=payload.code)
    return {"bound": True}


@router.delete("/wechat/binding", response={204: None, **ERRORS}, operation_id="unbind_wechat")
def unbind_wechat(request: HttpRequest):
    services.unbind_wechat(actor=request.user)
    return Status(204, None)


@router.get("/{notification_id}", response={200: NotificationDetailOut, **ERRORS}, operation_id="get_notification")
def get_notification(request: HttpRequest, notification_id: Id):
    n = selectors.notification(request.user, notification_id)
    deliveries = list(selectors.deliveries_of(n))
    n.delivery_status = {}
    for d in deliveries:
        n.delivery_status[d.status] = n.delivery_status.get(d.status, 0) + 1
    return {**NotificationOut.from_orm(n).dict(), "deliveries": deliveries}
