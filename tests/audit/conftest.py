"""The audit tests use the same team as the roles tests."""

from tests.roles.conftest import fast_password_hashing, team  # noqa: F401
