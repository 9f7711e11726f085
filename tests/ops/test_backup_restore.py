"""The backup and restore drill of docs/OPERATIONS.md (SPEC §15), end to end.

An installation on fresh embedded servers (the main server with the main, US and APAC
databases; the EU database on a server of its own) is bootstrapped, migrated and given an
organization, a customer in the US and one in the EU with a connection whose credential is
encrypted. ``manage.py db_backup dump`` backs it up; two more fresh servers get the same
configuration (only the hosts change) and ``manage.py db_backup restore``. Then the restored
installation passes the isolation check, gunicorn serves its console to the organization's
owner, the customers' rows are identical and the credential decrypts.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import stop_process
from tests.ops.servers import REGIONS, Installation, PostgresServer, free_port, postgres_servers
from tests.ops.web import gunicorn, logged_in_page, wait_until_serving

SECRET = "sk_live_drill-0123456789"
OWNER_EMAIL = "owner@drill.test"
SOURCE, TARGET = ("source-main", "source-eu"), ("restored-main", "restored-eu")


def _installation(servers: dict[str, PostgresServer], names: tuple[str, str]) -> Installation:
    main, eu = (servers[name] for name in names)
    return Installation(main, {region: eu if region == "eu" else main for region in REGIONS})


# Run inside Django processes of the installation (Installation.call).


def seed_drill_data() -> str:
    """An organization, a US and an EU customer with data, an encrypted credential."""
    from build.models import AuthMethod, Connector
    from dataplane.services import connection_connect
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_customer, make_customer_data, make_org, make_user

    org = make_org("Drill Org", owner=make_user(OWNER_EMAIL))
    us = make_customer(org, "Northwind US", region="us")
    eu = make_customer(org, "Europa GmbH", region="eu")
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        connector = Connector.objects.create(
            org=org,
            name="Stripe",
            slug="stripe",
            auth_method=AuthMethod.API_KEY,
            credential_fields=["api_key"],
            base_url="https://api.stripe.example",
        )
    with context(org_id=org.id, customer_id=eu.id, role=ORGANIZATION, user_id=org.owner_id):
        connection = connection_connect(
            acting_user=org.owner,
            organization=org,
            customer=eu,
            connector=connector,
            credentials={"api_key": SECRET},
            name="Stripe billing",
        )
    for customer in (us, eu, eu):
        make_customer_data(org, customer)
    return json.dumps(
        {
            "org_slug": org.slug,
            "customers": {"us": str(us.id), "eu": str(eu.id)},
            "connection": str(connection.id),
        }
    )


def customer_rows(customers_json: str) -> str:
    """Each customer's data-plane rows in its region: count and checksum per table, read as
    the owner (every row)."""
    from residency.services import DATA_PLANE_MODELS, table_fingerprint
    from tenancy.context import region_alias

    customers = json.loads(customers_json)
    return json.dumps(
        {
            region: {
                model._meta.db_table: table_fingerprint(
                    region_alias(region, login="owner"), model, customer_id
                )
                for model in DATA_PLANE_MODELS
            }
            for region, customer_id in customers.items()
        }
    )


def decrypted_credential(org_slug: str, connection_id: str) -> str:
    """The connection's credentials, read as the runtime login inside the customer's scope."""
    from customers.models import Customer, Organization
    from dataplane.encryption import decrypt_credentials
    from dataplane.models import Connection
    from tenancy.context import ORGANIZATION, context

    org = Organization.objects.get(slug=org_slug)
    with context(org_id=org.id, role=ORGANIZATION):
        customer = Customer.objects.get(name="Europa GmbH")
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        connection = Connection.objects.get(id=connection_id)
        return json.dumps(decrypt_credentials(connection.credentials))


# The drill.


def test_a_dumped_installation_restored_into_fresh_servers_serves_its_customers_intact(
    tmp_path: Path,
) -> None:
    backup = tmp_path / "backup"
    # The source's EU server has a superuser of its own (REGION_BOOTSTRAP_URLS reaches it); the
    # restored servers share one (DATABASE_BOOTSTRAP_URL's login reaches both).
    with postgres_servers(SOURCE + TARGET, sharing_the_first_superuser=TARGET) as servers:
        source = _installation(servers, SOURCE)
        source.manage("db_bootstrap")
        source.manage("migrate")
        seeded = json.loads(source.call("tests.ops.test_backup_restore:seed_drill_data"))
        customers = json.dumps(seeded["customers"])
        rows_before = json.loads(
            source.call("tests.ops.test_backup_restore:customer_rows", customers)
        )
        assert all(count > 0 for count, _ in rows_before["eu"].values())

        source.manage("db_backup", "dump", str(backup))

        manifest = json.loads((backup / "manifest.json").read_text())
        assert set(manifest["databases"]) == {"main", *REGIONS}
        assert sorted(path.name for path in backup.iterdir()) == sorted(
            ["manifest.json", *(f"{name}.dump" for name in ("main", *REGIONS))]
        )

        # The operator's configuration, moved to the new hosts: same logins, passwords, keys.
        restored = source.moved_to(
            servers["restored-main"],
            {r: servers["restored-eu" if r == "eu" else "restored-main"] for r in REGIONS},
        )
        assert servers["restored-main"].databases() == {"postgres"}
        output = restored.manage("db_backup", "restore", str(backup))
        assert "the isolation check passes" in output

        assert servers["restored-main"].databases() == {
            "postgres",
            "fastn",
            "fastn_us",
            "fastn_apac",
        }
        assert servers["restored-eu"].databases() == {"postgres", "fastn_eu"}
        # The isolation check as an operator runs it: Django's database checks.
        restored.manage("check", *(f"--database={a}" for a in ("default", *REGIONS)))

        rows_after = json.loads(
            restored.call("tests.ops.test_backup_restore:customer_rows", customers)
        )
        assert rows_after == rows_before
        credential = restored.call(
            "tests.ops.test_backup_restore:decrypted_credential",
            seeded["org_slug"],
            seeded["connection"],
        )
        assert json.loads(credential) == {"api_key": SECRET}

        port = free_port()
        log = tmp_path / "gunicorn.log"
        web = gunicorn(restored, port, log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(base, web, log)
            page = logged_in_page(
                base,
                OWNER_EMAIL,
                f"/o/{seeded['org_slug']}/customers/{seeded['customers']['eu']}/connections/",
            )
        finally:
            stop_process(web, group=True)
        assert "Europa GmbH" in page
        assert "Stripe billing" in page
        assert SECRET not in page
