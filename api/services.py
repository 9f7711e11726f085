"""Writes for API keys and usage records. Each runs inside a tenant scope."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone

from api import keys as key_format
from api import ratelimit
from api.models import ApiKey, ApiKeyCustomer, UsageBatch
from audit import actions
from audit.services import audit_record
from billing.services import count_limit_guard
from customers.models import Customer, CustomerStatus, Organization
from customers.states import organization_require_writable
from roles import catalog
from roles.models import Membership, Role
from roles.selectors import permissions_of
from tenancy.context import ORGANIZATION, atomic, context, require_scope

logger = logging.getLogger(__name__)

USAGE_BATCH_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    raw: str  # shown once, never stored


def assignable_presets(*, membership: Membership) -> list[Role]:
    """Roles a member may give a key: never the Owner, never above the member's own permissions."""
    own = permissions_of(membership)
    return [
        role
        for role in Role.objects.exclude(system_key=catalog.OWNER).order_by("-is_system", "name")
        if set(role.permissions) <= own
    ]


def api_key_create(
    *,
    acting_user: Any,
    membership: Membership,
    organization: Organization,
    name: str,
    role: Role,
    all_customers: bool,
    customers: Iterable[Customer] = (),
) -> CreatedKey:
    """Create a key and return its secret, which is shown once and stored only as a hash.

    The plan's key cap is checked under a lock on the organization row. The key belongs to the
    organization: ``created_by`` is history, and removing that person leaves the key working.
    """
    scope = require_scope()
    if scope.org_id != organization.id:
        raise ValidationError("The organization is not the one in scope.")
    organization_require_writable(organization=organization)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    if role.system_key == catalog.OWNER or role.org_id != organization.id:
        raise ValidationError({"role": "Choose another permission preset."})
    if not set(role.permissions) <= permissions_of(membership):
        raise ValidationError(
            {"role": "This preset holds permissions you do not have; choose a smaller one."}
        )
    chosen = list({customer.id: customer for customer in customers}.values())
    if all_customers and chosen:
        raise ValidationError({"customers": "Choose every customer or selected customers."})
    if not all_customers and not chosen:
        raise ValidationError({"customers": "Select at least one customer."})
    if all_customers and role.customer_restricted:
        raise ValidationError(
            {"role": f"The {role.name} preset is for keys limited to selected customers."}
        )
    if any(c.org_id != organization.id or c.status == CustomerStatus.DELETING for c in chosen):
        raise ValidationError({"customers": "Select customers of this organization."})
    generated = key_format.generate(organization.id)
    with atomic():
        count_limit_guard(organization=organization, key="api_keys_per_org")
        key = ApiKey.objects.create(
            org=organization,
            name=name,
            prefix=generated.prefix,
            secret_hash=generated.secret_hash,
            role=role,
            all_customers=all_customers,
            created_by=acting_user if getattr(acting_user, "pk", None) else None,
        )
        ApiKeyCustomer.objects.bulk_create(
            ApiKeyCustomer(org=organization, api_key=key, customer=customer) for customer in chosen
        )
        audit_record(
            actor=acting_user,
            action=actions.API_KEY_CREATE,
            target_type="api_key",
            target_id=key.id,
            after={
                "name": key.name,
                "prefix": key.prefix,
                "preset": role.name,
                "scope": "all customers"
                if all_customers
                else [str(customer.id) for customer in chosen],
            },
        )
    return CreatedKey(key=key, raw=generated.raw)


def api_key_revoke(*, acting_user: Any, key: ApiKey) -> ApiKey:
    """Revoke at once: the next request with this key is a 401."""
    with atomic():
        locked = ApiKey.objects.select_for_update().get(id=key.id)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            actor=acting_user,
            action=actions.API_KEY_REVOKE,
            target_type="api_key",
            target_id=locked.id,
            before={"name": locked.name, "prefix": locked.prefix},
        )
    return locked


# --- Usage ---------------------------------------------------------------------------------

_CLAIM = """
local claimed = 0
for _, org in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('SREM', KEYS[1], org)
  local source = ARGV[1] .. ':' .. org
  if redis.call('EXISTS', source) == 1 then
    local batch = source .. ':batch:' .. ARGV[2]
    redis.call('RENAME', source, batch)
    redis.call('SADD', KEYS[2], batch)
    claimed = claimed + 1
  end
end
return claimed
"""

_UPSERT_SQL = (
    "INSERT INTO api_usagerecord (id, org_id, subject_customer_id, day, kind, count) "
    "VALUES (%s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (org_id, subject_customer_id, day, kind) "
    "DO UPDATE SET count = api_usagerecord.count + EXCLUDED.count"
)


def _inflight_key() -> str:
    return f"{ratelimit.usage_namespace()}:inflight"


def _parse_field(field: str) -> tuple[uuid.UUID | None, date, str]:
    customer, day, kind = field.split("|")
    return (uuid.UUID(customer) if customer else None, date.fromisoformat(day), kind)


def _write_batch(org_id: uuid.UUID, batch_key: str, counts: dict[str, int]) -> bool:
    """Add one batch's counts to ``UsageRecord`` unless this batch was written before."""
    with context(org_id=org_id, role=ORGANIZATION):
        if not Organization.objects.filter(id=org_id).exists():
            logger.warning("Usage for unknown organization %s dropped", org_id)
            return False
        _, created = UsageBatch.objects.get_or_create(org_id=org_id, batch_key=batch_key)
        if not created:
            return False
        rows = []
        for field, count in counts.items():
            customer_id, day, kind = _parse_field(field)
            rows.append((uuid.uuid4(), org_id, customer_id, day, kind, count))
        with connections["default"].cursor() as cursor:
            cursor.executemany(_UPSERT_SQL, rows)
        UsageBatch.objects.filter(flushed_at__lt=timezone.now() - USAGE_BATCH_RETENTION).delete()
    return True


def usage_flush() -> int:
    """Move pending usage counters from Redis into ``UsageRecord`` rows; returns batches written.

    Each organization's pending hash is renamed to a batch key atomically (new calls start a
    fresh hash), written to PostgreSQL together with a ``UsageBatch`` row in one transaction,
    and deleted from Redis afterwards. A batch left behind by a crash is written on the next
    run — or, when its transaction had committed, found in ``UsageBatch`` and only deleted — so
    nothing is lost and nothing counted twice.
    """
    conn = ratelimit.client()
    namespace = ratelimit.usage_namespace()
    inflight = _inflight_key()
    conn.eval(  # type: ignore[no-untyped-call]
        _CLAIM, 2, ratelimit.usage_dirty_key(), inflight, namespace, uuid.uuid4().hex
    )
    written = 0
    for raw_batch in sorted(conn.smembers(inflight)):  # type: ignore[union-attr]
        batch_key = raw_batch.decode() if isinstance(raw_batch, bytes) else str(raw_batch)
        org_part = batch_key[len(namespace) + 1 :].split(":", 1)[0]
        counts = {
            (k.decode() if isinstance(k, bytes) else k): int(v)
            for k, v in conn.hgetall(batch_key).items()  # type: ignore[union-attr]
        }
        if counts and _write_batch(uuid.UUID(org_part), batch_key, counts):
            written += 1
        conn.delete(batch_key)
        conn.srem(inflight, raw_batch)
    return written


# --- Data-plane writes the API needs (customer scope) ---------------------------------------


def _require_customer_scope(customer: Customer) -> None:
    if require_scope().customer_id != customer.id:
        raise ValidationError("The customer is not the one in scope.")
