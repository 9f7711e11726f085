from django.urls import URLPattern

app_name = "dataplane"

urlpatterns: list[URLPattern] = []
