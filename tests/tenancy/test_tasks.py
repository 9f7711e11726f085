from __future__ import annotations

import pytest

from tenancy.context import TenantContextMissing, current_scope
from tenancy.tasks import tenant_task
from tests.conftest import ALL_DATABASES


@tenant_task(name="tests.scope_probe")
def scope_probe(*, org_id: str, customer_id: str | None = None) -> str:
    scope = current_scope()
    assert scope is not None
    return str(scope.org_id)


def test_tenant_task_without_org_raises() -> None:
    with pytest.raises(TenantContextMissing):
        scope_probe.run()


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_tenant_task_runs_inside_the_scope() -> None:
    from tests.factories import make_org

    org = make_org()
    assert scope_probe.run(org_id=str(org.id)) == str(org.id)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_worker_starts_after_passing_the_isolation_check(celery_worker) -> None:
    assert "ready" in celery_worker.log_path.read_text()
