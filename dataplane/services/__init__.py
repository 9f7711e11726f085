"""Writes to a customer's data plane. The router sends them to the customer's region.

Everything a person or a token holder does goes through the checked services, which take
``acting_user``, refuse what the customer's and organization's states refuse, check count limits
under a lock on the customer row, encrypt credentials and audit ids and field names (never
values). The ``…_unchecked`` primitives skip all of that: they are for demo seeding and test
factories only.

By concern: ``primitives`` (the unchecked writes and the steps every service shares),
``connections``, ``workflows`` (a customer's workflows: the definitions it has), ``runs``
(calling out: credential headers, logged single calls and the workflow run engine),
``triggers`` (the runs events, schedules and inbound webhooks start) and ``configuration``.
Import from here (``from dataplane.services import connection_connect``).
"""

from dataplane.services.configuration import (
    configuration_add,
    configuration_delete,
    configuration_update,
)
from dataplane.services.connections import (
    ConnectionTest,
    connection_connect,
    connection_disconnect,
    connection_remove,
    connection_test,
    connection_update,
)
from dataplane.services.primitives import (
    configuration_set_unchecked,
    connection_create_unchecked,
    execution_log_create_unchecked,
    workflow_create_unchecked,
)
from dataplane.services.runs import (
    Enter,
    PlannedStep,
    RunOutcome,
    call_outside_transaction,
    credential_headers,
    execution_finish,
    execution_log_record,
    execution_start,
    workflow_run,
    workflow_steps_execute,
)
from dataplane.services.triggers import event_runs_queue
from dataplane.services.workflows import (
    workflow_add,
    workflow_configure,
    workflow_remove,
    workflow_set_enabled,
)

__all__ = [
    "ConnectionTest",
    "Enter",
    "PlannedStep",
    "RunOutcome",
    "call_outside_transaction",
    "configuration_add",
    "configuration_delete",
    "configuration_set_unchecked",
    "configuration_update",
    "connection_connect",
    "connection_create_unchecked",
    "connection_disconnect",
    "connection_remove",
    "connection_test",
    "connection_update",
    "credential_headers",
    "event_runs_queue",
    "execution_finish",
    "execution_log_create_unchecked",
    "execution_log_record",
    "execution_start",
    "workflow_add",
    "workflow_configure",
    "workflow_create_unchecked",
    "workflow_remove",
    "workflow_run",
    "workflow_set_enabled",
    "workflow_steps_execute",
]
