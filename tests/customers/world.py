from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.test import Client

from accounts.models import User
from customers.models import Customer, Organization
from roles import catalog
from tests.factories import make_customer, make_customer_data, make_member, make_org


@dataclass
class World:
    org: Organization
    other_org: Organization
    customer: Customer
    other_customer: Customer  # belongs to other_org
    owner: User
    admin: User
    operator: User
    viewer: User
    outsider: User  # owner of other_org, no membership here

    def client(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def url(self, path: str, org: Organization | None = None) -> str:
        return f"/o/{(org or self.org).slug}/{path}"

    def customer_url(self, customer: Customer | None = None, suffix: str = "") -> str:
        customer = customer or self.customer
        return f"/o/{self.org.slug}/customers/{customer.id}/{suffix}"


def make_world() -> World:
    org, other = make_org("Acme"), make_org("Globex")
    customer = make_customer(org, "Northwind", region="eu", external_id="nw-1")
    other_customer = make_customer(other, "Paris Patisserie", region="eu", external_id="nw-1")
    make_customer_data(org, customer)
    make_customer_data(other, other_customer)
    return World(
        org=org,
        other_org=other,
        customer=customer,
        other_customer=other_customer,
        owner=org.owner,
        admin=make_member(org, catalog.ADMIN).user,
        operator=make_member(org, catalog.OPERATOR).user,
        viewer=make_member(org, catalog.VIEWER).user,
        outsider=other.owner,
    )


def read_mailbox(mailbox: Path) -> str:
    """Headers and decoded bodies of every message the file backend wrote."""
    import email

    texts = []
    for path in sorted(mailbox.glob("*")):
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                message = email.message_from_string(chunk.strip())
                body = message.get_payload(decode=True) or b""
                texts.append(f"To: {message['To']}\n{body.decode()}")
    return "\n".join(texts)
