"""Log records carry the organization and customer of the current scope."""

from __future__ import annotations

import logging

from tenancy.context import current_scope


class ScopeFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        scope = current_scope()
        record.org_id = getattr(record, "org_id", None) or (scope.org_id if scope else "-")
        record.customer_id = getattr(record, "customer_id", None) or (
            scope.customer_id if scope and scope.customer_id else "-"
        )
        return super().format(record)
