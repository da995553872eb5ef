from django.urls import include, path

from linli.api import api

urlpatterns = [
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("exchange/", include("linli.exchange.urls")),
    path("pay/", include("linli.billing.urls")),
    path("m/", include("linli.portal.urls")),
    path("", include("linli.web.urls")),
]
