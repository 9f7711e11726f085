"""``seed_demo`` refuses to run with production settings (SPEC §15, issue 13): it would create a
staff superuser and members whose password is the published demo password."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_seed_demo_refuses_when_debug_is_off(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG") as refused:
        call_command("seed_demo")
    assert "demo password" in str(refused.value)
    assert not User.objects.filter(email__in=["staff@fastn.test", "owner@acme.test"]).exists()


def test_seed_demo_runs_when_a_test_turns_debug_on(settings) -> None:
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    output = io.StringIO()
    call_command("seed_demo", stdout=output)
    assert "Demo data is ready." in output.getvalue()
    staff = User.objects.get(email="staff@fastn.test")
    assert staff.is_staff and staff.check_password(settings.DEMO_PASSWORD)
