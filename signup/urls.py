from django.urls import URLPattern

app_name = "signup"

urlpatterns: list[URLPattern] = []
