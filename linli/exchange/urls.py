from django.urls import path

from linli.exchange import views

app_name = "exchange"
urlpatterns = [
    path("import/", views.import_page, name="import"),
    path("templates/<slug:kind>/", views.template_download, name="template"),
    path("export/", views.export_page, name="export"),
    path("export/download/", views.export_download, name="download"),
]
