"""The fake providers live in `linli.billing.testing` (importable outside test packages: the demo
and browser tests use the sandbox); re-exported here for the provider tests."""

from linli.billing.testing import (  # noqa: F401
    ALIPAY_TAMPERINGS,
    WECHAT_TAMPERINGS,
    FakeAlipay,
    FakeWechatPay,
    LocalEndpoint,
    Seen,
    new_rsa_key,
    private_pem,
)
