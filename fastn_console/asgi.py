import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")

application = get_asgi_application()

from tenancy.checks import run_startup_check  # noqa: E402

run_startup_check()
