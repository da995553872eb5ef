from django.urls import path

app_name = "exchange"
urlpatterns: list = [
    # import and export pages
]
path  # noqa: B018 - used once pages are added
