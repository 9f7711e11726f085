from django.urls import URLPattern

app_name = "widget"

urlpatterns: list[URLPattern] = []
