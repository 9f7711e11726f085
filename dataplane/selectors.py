"""Reads of a customer's data plane (inside the customer's scope)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from build.models import Connector
from dataplane.encryption import decrypt_credentials, mask
from dataplane.models import Connection


def connectable_connectors(*, search: str = "") -> QuerySet[Connector]:
    connectors = Connector.objects.all()
    search = search.strip()
    if search:
        connectors = connectors.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    return connectors.order_by("name", "id")


def masked_credentials(*, connection: Connection) -> list[tuple[str, str]]:
    """``(field, masked value)`` pairs: never the whole secret."""
    values = decrypt_credentials(connection.credentials)
    return [(name, mask(value)) for name, value in sorted(values.items())]
