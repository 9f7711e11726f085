"""Reads of the audit log: filtered entries, the filters' choices, and rows for CSV export."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from audit.actions import description
from audit.models import AuditLogEntry
from audit.services import ORGANIZATION_WIDE
from customers.models import Customer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = (
    "time",
    "actor",
    "action",
    "customer",
    "target_type",
    "target_id",
    "before",
    "after",
    "ip_address",
    "user_agent",
)
# The customer filter's value for rows about the organization itself (no customer).
NO_CUSTOMER = "none"


def audit_entries(
    *,
    actor: str = "",
    action: str = "",
    customer: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> QuerySet[AuditLogEntry]:
    """Entries newest first. ``actor`` is a user id or ``system``; ``customer`` a customer id
    or ``NO_CUSTOMER`` (organization-wide rows); dates are UTC days, both ends included."""
    entries = AuditLogEntry.objects.all()
    if actor == "system":
        entries = entries.filter(actor__isnull=True)
    elif actor:
        entries = _by_uuid(entries, "actor_id", actor)
    if customer == NO_CUSTOMER:
        entries = entries.filter(subject_customer_id__isnull=True)
    elif customer:
        entries = _by_uuid(entries, "subject_customer_id", customer)
    if action:
        entries = entries.filter(action=action)
    if date_from:
        entries = entries.filter(created_at__date__gte=date_from)
    if date_to:
        entries = entries.filter(created_at__date__lte=date_to)
    return entries.order_by("-created_at", "-id")


def _by_uuid(entries: QuerySet[AuditLogEntry], field: str, value: str) -> QuerySet[AuditLogEntry]:
    try:
        return entries.filter(**{field: uuid.UUID(value)})
    except ValueError:
        return entries.none()


def audit_customers() -> list[tuple[str, str]]:
    """(value, label) for the customer filter: organization-wide rows, then every customer
    that appears in the log, by name (a deleted customer by its id)."""
    ids = (
        AuditLogEntry.objects.filter(subject_customer_id__isnull=False)
        .order_by("subject_customer_id")
        .values_list("subject_customer_id", flat=True)
        .distinct()
    )
    found = {customer_id for customer_id in ids if customer_id is not None}
    names = dict(Customer.objects.filter(id__in=found).values_list("id", "name")) if found else {}
    named = sorted(((str(i), names.get(i, str(i))) for i in found), key=lambda c: c[1].lower())
    return [(NO_CUSTOMER, ORGANIZATION_WIDE), *named]


def audit_actions() -> list[tuple[str, str]]:
    """(key, label) for every action that appears in the log, labelled with the catalog's
    description (the log's rows show the key)."""
    keys = AuditLogEntry.objects.order_by("action").values_list("action", flat=True).distinct()
    return sorted(((key, description(key)) for key in keys), key=lambda choice: choice[1])


def audit_actors() -> list[tuple[str, str]]:
    """(value, label) for every actor that appears in the log, people first."""
    rows = (
        AuditLogEntry.objects.filter(actor__isnull=False)
        .order_by("actor__email")
        .values_list("actor_id", "actor__email")
        .distinct()
    )
    choices = [(str(actor_id), email) for actor_id, email in rows]
    if AuditLogEntry.objects.filter(actor__isnull=True).exists():
        choices.append(("system", "System"))
    return choices


@dataclass(frozen=True)
class FieldChange:
    """One field of an entry, ready to read: ``kind`` is same, changed, added or removed."""

    field: str
    kind: str
    before: str = ""
    after: str = ""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) or "none"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def change_summary(entry: AuditLogEntry) -> list[FieldChange]:
    """The entry's before/after as per-field changes; lists show what was added and removed."""
    before, after = entry.before or {}, entry.after or {}
    changes = []
    for field in dict.fromkeys([*before, *after]):
        if field not in after:
            changes.append(FieldChange(field, "removed", before=_text(before[field])))
        elif field not in before:
            changes.append(FieldChange(field, "added", after=_text(after[field])))
        elif before[field] == after[field]:
            changes.append(FieldChange(field, "same", after=_text(after[field])))
        elif isinstance(before[field], list) and isinstance(after[field], list):
            old, new = set(before[field]), set(after[field])
            changes.append(
                FieldChange(
                    field,
                    "changed",
                    before=_text(sorted(old - new)) if old - new else "",
                    after=_text(sorted(new - old)) if new - old else "",
                )
            )
        else:
            changes.append(FieldChange(field, "changed", _text(before[field]), _text(after[field])))
    return changes


def customer_names(entries: Iterable[AuditLogEntry]) -> dict[uuid.UUID, str]:
    ids = {entry.subject_customer_id for entry in entries if entry.subject_customer_id}
    if not ids:
        return {}
    return dict(Customer.objects.filter(id__in=ids).values_list("id", "name"))


def customer_label(entry: AuditLogEntry, names: dict[uuid.UUID, str]) -> str:
    if entry.subject_customer_id is None:
        return ORGANIZATION_WIDE
    return names.get(entry.subject_customer_id, str(entry.subject_customer_id))


def audit_csv_rows(entries: QuerySet[AuditLogEntry], *, batch: int = 500) -> Iterator[list[Any]]:
    """The header, then one row per entry; customers are looked up per batch."""
    yield list(CSV_HEADER)
    chunk: list[AuditLogEntry] = []
    for entry in entries.iterator(chunk_size=batch):
        chunk.append(entry)
        if len(chunk) >= batch:
            yield from _csv_chunk(chunk)
            chunk = []
    yield from _csv_chunk(chunk)


def _cell(value: str) -> str:
    """Spreadsheets run cells that start like a formula; names come from users."""
    return "'" + value if value[:1] in FORMULA_STARTS else value


def _csv_chunk(chunk: list[AuditLogEntry]) -> Iterator[list[Any]]:
    names = customer_names(chunk)
    for entry in chunk:
        yield [
            entry.created_at.isoformat(),
            _cell(entry.actor_label),
            entry.action,
            _cell(customer_label(entry, names)),
            entry.target_type,
            entry.target_id,
            json.dumps(entry.before, sort_keys=True) if entry.before else "",
            json.dumps(entry.after, sort_keys=True) if entry.after else "",
            entry.ip_address or "",
            _cell(entry.user_agent or ""),
        ]
