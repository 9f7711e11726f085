from django.urls import path

from signup import views

app_name = "signup"

urlpatterns = [
    path("", views.signup_form, name="form"),
    path("status/<str:token>/", views.signup_status, name="status"),
    path("status/<str:token>/poll/", views.signup_status_poll, name="status_poll"),
    path("status/<str:token>/resend/", views.signup_resend, name="resend"),
    path("confirm/<str:token>/", views.signup_confirm, name="confirm"),
]
