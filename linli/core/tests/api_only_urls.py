from django.urls import path

from linli.api import api

urlpatterns = [path("api/", api.urls)]
