"""The audit tests create accounts as the roles tests do."""

from tests.roles.conftest import fast_password_hashing  # noqa: F401
