from django.urls import URLPattern

app_name = "build"

urlpatterns: list[URLPattern] = []
