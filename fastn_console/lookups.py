"""``column = ANY(%s)``: membership in a list sent as one array parameter.

``filter(customer_id__in=ids)`` writes one placeholder per id, so a page that asks each region
about every customer of a large organization sends statements psycopg must parse anew each time
(its cache stops at 4 KB of SQL) with thousands of parameters. ``AnyOf(F("customer_id"), ids)``
sends the same condition (PostgreSQL plans ``IN (…)`` as ``= ANY(ARRAY[…])``) as one array.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Lookup


class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any_of"
    prepare_rhs = False  # the list stays a list: psycopg sends it as an array

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:
        field = self.lhs.output_field
        return "%s", ([field.get_db_prep_value(item, connection) for item in value],)

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} = ANY({rhs_sql})", (*lhs_params, *rhs_params)
