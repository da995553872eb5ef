"""Online payment providers (WeChat Pay API v3, Alipay) behind one interface (`base.py`)."""
