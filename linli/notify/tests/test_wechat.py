"""WeChat subscribe messages against a fake WeChat API: the access token is cached, renewed once
when WeChat calls it invalid, and a refused subscription is not retried."""

import json

import pytest

from linli.core.tests.apiclient import ApiClient
from linli.notify.dispatcher import dispatch_due
from linli.notify.models import Delivery, DeliveryStatus, WechatBinding
from linli.notify.services import Audience, notify
from linli.notify.tests.fakes import FakeService
from linli.notify.wechat import WechatClient, WechatError, template_data

pytestmark = [pytest.mark.django_db, pytest.mark.urls("linli.core.tests.api_only_urls")]


class WechatFake:
    def __init__(self):
        self.tokens_issued = 0
        self.send_answers: list[dict] = []  # popped per send; {"errcode": 0} when empty
        self.messages: list[dict] = []

    def __call__(self, seen):
        if seen.path == "/cgi-bin/token":
            if seen.query != {"grant_type": "client_credential", "appid": "wx-app", "secret": "wx-secret"}:
                return 200, {}, {"errcode": 40013, "errmsg": "invalid appid"}
            self.tokens_issued += 1
            return 200, {}, {"access_token": f"token-{self.tokens_issued}", "expires_in": 7200}
        if seen.path == "/cgi-bin/message/subscribe/send":
            if seen.query.get("access_token") != f"token-{self.tokens_issued}":
                return 200, {}, {"errcode": 40001, "errmsg": "invalid credential"}
            answer = self.send_answers.pop(0) if self.send_answers else {"errcode": 0, "errmsg": "ok", "msgid": 77}
            if answer.get("errcode") == 0:
                self.messages.append(json.loads(seen.body))
            return 200, {}, answer
        if seen.path == "/sns/jscode2session":
            if seen.query.get("js_code") != "good-code":
                return 200, {}, {"errcode": 40029, "errmsg": "invalid code"}
            return 200, {}, {"openid": "o-from-wechat", "session_key": "k"}
        return 404, {}, b""


@pytest.fixture
def wechat(settings):
    fake = WechatFake()
    with FakeService(fake) as service:
        settings.WECHAT = {"app_id": "wx-app", "app_secret": "wx-secret", "api_base": service.url,
                           "template_id": "TPL-1", "fields": {"title": "thing1", "time": "time2", "body": "thing3"},
                           "state": "developer"}
        WechatClient.forget_token()
        yield fake
        WechatClient.forget_token()


def _alarm_to_resident(district):
    a = district.a
    WechatBinding.objects.get_or_create(user=a.users["resident"], defaults={"openid": "o-resident"})
    return notify(compound_id=a.compound.pk, audience=Audience(residents_of_building=a.building.pk),
                  title="3号楼2单元发生烟雾报警请立即注意安全撤离", body="物业已赶往现场", severity="critical")


def _wechat_delivery(n):
    return Delivery.objects.get(notification=n, channel="wechat")


def test_the_token_is_fetched_once_and_the_message_fills_the_template(district, wechat):
    first, second = _alarm_to_resident(district), _alarm_to_resident(district)
    dispatch_due()
    assert _wechat_delivery(first).status == _wechat_delivery(second).status == DeliveryStatus.SENT
    assert wechat.tokens_issued == 1
    message = wechat.messages[0]
    assert message["touser"] == "o-resident" and message["template_id"] == "TPL-1"
    assert message["data"]["thing1"]["value"] == "3号楼2单元发生烟雾报警请立即注意安全撤"  # thing: 20 characters
    assert set(message["data"]) == {"thing1", "time2", "thing3"}


def test_an_expired_token_is_renewed_and_the_send_retried_once(district, wechat):
    WechatClient().access_token()
    wechat.tokens_issued += 1  # WeChat has moved on: our cached token is now invalid
    n = _alarm_to_resident(district)
    dispatch_due()
    assert _wechat_delivery(n).status == DeliveryStatus.SENT
    assert wechat.tokens_issued == 3


def test_a_refused_subscription_is_dead_and_a_busy_wechat_is_retried(district, wechat):
    wechat.send_answers = [{"errcode": 43101, "errmsg": "user refuse to accept the msg"}]
    refused = _alarm_to_resident(district)
    dispatch_due()
    assert _wechat_delivery(refused).status == DeliveryStatus.DEAD
    assert _wechat_delivery(refused).last_error == "wechat:43101"
    wechat.send_answers = [{"errcode": -1, "errmsg": "system error"}]
    busy = _alarm_to_resident(district)
    dispatch_due()
    assert _wechat_delivery(busy).status == DeliveryStatus.FAILED


def test_binding_turns_a_login_code_into_the_openid(district, wechat):
    resident = district.a.users["resident"]
    api = ApiClient(resident)
    assert api.post("/api/notifications/wechat/binding", {"code": "bad-code"}).status_code == 422
    response = api.post("/api/notifications/wechat/binding", {"code": "good-code"})
    assert response.status_code == 200 and response.json() == {"bound": True}
    assert WechatBinding.objects.get(user=resident).openid == "o-from-wechat"
    assert api.delete("/api/notifications/wechat/binding").status_code == 204
    assert not WechatBinding.objects.filter(user=resident).exists()


def test_template_values_are_cut_to_what_each_kind_accepts():
    data = template_data({"title": "thing1", "severity": "phrase2"}, {"title": "一" * 30, "severity": "紧急紧急紧急"})
    assert data == {"thing1": "一" * 20, "phrase2": "紧急紧急紧"}


def test_an_unknown_app_is_an_error_worth_no_retry(wechat, settings):
    settings.WECHAT = {**settings.WECHAT, "app_id": "wx-other"}
    with pytest.raises(WechatError) as exc:
        WechatClient().access_token()
    assert exc.value.errcode == 40013 and not exc.value.retry
