from django.urls import URLPattern

app_name = "roles"

urlpatterns: list[URLPattern] = []
