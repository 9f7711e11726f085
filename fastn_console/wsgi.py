"""WSGI entry point. Refuses to serve when row-level security is not in force (SPEC §5.3)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")

application = get_wsgi_application()

from tenancy.checks import run_startup_check  # noqa: E402

run_startup_check()
