"""Online payment providers (WeChat Pay API v3, Alipay) behind one interface (`base.py`);
`configured(name)` gives the deployment's own (`configured.py`)."""

from linli.billing.providers.configured import ProviderNotConfigured, configured, is_configured

__all__ = ["ProviderNotConfigured", "configured", "is_configured"]
