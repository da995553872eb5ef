"""Public endpoints of billing outside the API: the providers' payment notifications (/pay/…)."""

from django.urls import path

from linli.billing import views

app_name = "billing"

urlpatterns = [
    path("notify/<str:provider>/", views.notification, name="notify"),
]
