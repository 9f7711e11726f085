"""Every audit action the console records, declared once with what it means.

Services pass these constants to ``audit_record(action=…)``; the audit log offers them as
filters and shows the description beside the key. A key reads ``resource.verb`` like the
permission catalog's. ``declared(key)`` checks a key that is put together from parts (the
build kinds' and deploy actions).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuditAction:
    key: str
    description: str

    def __str__(self) -> str:
        return self.key


_ACTIONS: list[AuditAction] = []


def _action(key: str, description: str) -> str:
    _ACTIONS.append(AuditAction(key, description))
    return key


# Organization and its settings
ORGANIZATION_CREATE = _action("organization.create", "Organization created")
ORGANIZATION_UPDATE = _action("organization.update", "General settings changed")
ORGANIZATION_EMAIL_DOMAIN_REQUEST = _action(
    "organization.email_domain.request", "Email domain change requested"
)
ORGANIZATION_EMAIL_DOMAIN_CANCEL = _action(
    "organization.email_domain.cancel", "Email domain change cancelled"
)
ORGANIZATION_EMAIL_DOMAIN_VERIFIED = _action(
    "organization.email_domain.verified", "Email domain verified"
)
ORGANIZATION_STAFF_CHANGE = _action("organization.staff_change", "Changed by Fastn staff")
ORGANIZATION_DELETE_START = _action("organization.delete.start", "Organization deletion started")
ORGANIZATION_OWNERSHIP_TRANSFER = _action(
    "organization.ownership_transfer", "Ownership transferred"
)

# Customers
CUSTOMER_CREATE = _action("customer.create", "Customer created")
CUSTOMER_UPDATE = _action("customer.update", "Customer changed")
CUSTOMER_ACTIVATE = _action("customer.activate", "Customer activated")
CUSTOMER_SUSPEND = _action("customer.suspend", "Customer suspended")
CUSTOMER_DELETE_START = _action("customer.delete.start", "Customer deletion started")
CUSTOMER_DELETE_FINISH = _action("customer.delete.finish", "Customer deletion finished")
CUSTOMER_RELOCATION_START = _action("customer.relocation_start", "Relocation started")
CUSTOMER_RELOCATION_DONE = _action("customer.relocation_done", "Relocation finished")
CUSTOMER_RELOCATION_FAILED = _action("customer.relocation_failed", "Relocation failed")
CUSTOMER_IMPORT_START = _action("customer.import.start", "Customer import started")
CUSTOMER_IMPORT_FINISH = _action("customer.import.finish", "Customer import finished")

# Billing
CUSTOMER_LIMIT_OVERRIDE = _action("customer_limit.override", "Customer limit overridden")
CUSTOMER_LIMIT_RESET = _action("customer_limit.reset", "Customer limit reset to plan")
BILLING_UPGRADE_REQUEST = _action("billing.upgrade_request", "Plan upgrade requested")

# Roles and people
ROLE_CREATE = _action("role.create", "Custom role created")
ROLE_DUPLICATE = _action("role.duplicate", "Role duplicated as custom")
ROLE_UPDATE = _action("role.update", "Custom role changed")
ROLE_DELETE = _action("role.delete", "Custom role deleted")
MEMBERSHIP_CREATE = _action("membership.create", "Member added")
MEMBERSHIP_ROLE_CHANGE = _action("membership.role_change", "Member's role changed")
MEMBERSHIP_REMOVE = _action("membership.remove", "Member removed")
INVITATION_CREATE = _action("invitation.create", "Invitation sent")
INVITATION_RESEND = _action("invitation.resend", "Invitation resent")
INVITATION_REVOKE = _action("invitation.revoke", "Invitation revoked")
INVITATION_ACCEPT = _action("invitation.accept", "Invitation accepted")
JOIN_REQUEST_CREATE = _action("join_request.create", "Join request filed")
JOIN_REQUEST_ACCEPT = _action("join_request.accept", "Join request accepted")
JOIN_REQUEST_DECLINE = _action("join_request.decline", "Join request declined")

# API keys
API_KEY_CREATE = _action("api_key.create", "API key created")
API_KEY_REVOKE = _action("api_key.revoke", "API key revoked")

# Webhooks (webhooks app)
WEBHOOK_ENDPOINT_CREATE = _action("webhook_endpoint.create", "Webhook endpoint created")
WEBHOOK_ENDPOINT_UPDATE = _action("webhook_endpoint.update", "Webhook endpoint changed")
WEBHOOK_ENDPOINT_DELETE = _action("webhook_endpoint.delete", "Webhook endpoint deleted")
WEBHOOK_ENDPOINT_ENABLE = _action("webhook_endpoint.enable", "Webhook endpoint enabled")
WEBHOOK_ENDPOINT_DISABLE = _action(
    "webhook_endpoint.disable", "Webhook endpoint disabled after failing for 24 hours"
)
WEBHOOK_ENDPOINT_TEST = _action("webhook_endpoint.test", "Webhook test event sent")
WEBHOOK_DELIVERY_REDELIVER = _action("webhook_delivery.redeliver", "Webhook event redelivered")

# Signup pipeline
SIGNUP_PROVISION = _action("signup.provision", "Organization provisioned from a signup")
SIGNUP_STAFF_APPROVE = _action("signup.staff_approve", "Signup approved by staff")
SIGNUP_STAFF_REJECT = _action("signup.staff_reject", "Signup rejected by staff")

# Sign-in and account security (SPEC §14). A person belongs to no one organization, so each of
# these is written once in every organization where they are an active member.
AUTH_LOGIN = _action("auth.login", "Signed in")
AUTH_LOGIN_FAILED = _action("auth.login_failed", "Sign-in failed")
AUTH_LOGOUT = _action("auth.logout", "Signed out")
AUTH_PASSWORD_CHANGE = _action("auth.password_change", "Password changed")
AUTH_PASSWORD_RESET_REQUEST = _action("auth.password_reset_request", "Password reset requested")
AUTH_PASSWORD_RESET = _action("auth.password_reset", "Password reset with an emailed link")
AUTH_TWO_FACTOR_ENABLE = _action("auth.two_factor_enable", "Two-factor authentication turned on")
AUTH_TWO_FACTOR_DISABLE = _action("auth.two_factor_disable", "Two-factor authentication turned off")
AUTH_TWO_FACTOR_FAILED = _action("auth.two_factor_failed", "Two-factor code refused")
AUTH_RECOVERY_CODES_REGENERATE = _action(
    "auth.recovery_codes_regenerate", "Recovery codes regenerated"
)
ORGANIZATION_REQUIRE_TWO_FACTOR = _action(
    "organization.require_two_factor", "Two-factor requirement changed"
)
# Single sign-on (sso): a sign-in through it is auth.login with method "sso"; a refused one is
# written in the organization whose identity provider it was for.
AUTH_SSO_LOGIN_FAILED = _action("auth.sso_login_failed", "Single sign-on refused")
ORGANIZATION_SSO_UPDATE = _action("organization.sso.update", "Single sign-on settings changed")

# Refusals and exports
ACCESS_DENIED = _action("access.denied", "Action refused (403)")
AUDIT_EXPORT = _action("audit.export", "Audit log exported")
CUSTOMER_EXPORT = _action("customer.export", "Customer data exported")
CUSTOMER_INBOUND_SECRET_ROTATE = _action(
    "customer.inbound_secret.rotate", "Inbound webhook signing secret created or rotated"
)

# Data plane (ids and field names only, never values)
CONNECTION_CREATE = _action("connection.create", "Connection created")
CONNECTION_UPDATE = _action("connection.update", "Connection changed")
CONNECTION_DISCONNECT = _action("connection.disconnect", "Connection disconnected")
CONNECTION_DELETE = _action("connection.delete", "Connection deleted")
CONNECTION_TEST = _action("connection.test", "Connection tested")
CONNECTION_SHARE = _action("connection.share", "Connect link or embed token issued")
EMBED_TOKEN_REVOKE = _action("embed_token.revoke", "Connect link or embed token revoked")
EMBEDDING_ORIGINS_UPDATE = _action("embedding_origins.update", "Allowed embedding origins changed")
CONNECTIONS_REENCRYPT = _action("connections.reencrypt", "Credentials re-encrypted")
# Workflow definitions (organization-wide): create, update, delete and deploys, as a build kind.
WORKFLOW_CREATE = _action("workflow.create", "Workflow definition created")
WORKFLOW_UPDATE = _action("workflow.update", "Workflow definition changed (new version)")
WORKFLOW_DELETE = _action("workflow.delete", "Workflow definition deleted")
# A customer's enablement of a definition.
WORKFLOW_ADD = _action("workflow.add", "Workflow added to a customer")
WORKFLOW_CONFIGURE = _action("workflow.configure", "Customer's workflow connections changed")
WORKFLOW_REMOVE = _action("workflow.remove", "Workflow removed from a customer")
WORKFLOW_ENABLE = _action("workflow.enable", "Workflow enabled")
WORKFLOW_DISABLE = _action("workflow.disable", "Workflow disabled")
WORKFLOW_EXECUTE = _action("workflow.execute", "Workflow run")
CONFIGURATION_CREATE = _action("configuration.create", "Configuration value created")
CONFIGURATION_UPDATE = _action("configuration.update", "Configuration value changed")
CONFIGURATION_DELETE = _action("configuration.delete", "Configuration value deleted")

# Deploys, for workflows and for the build kinds (connector, agent, tool)
DEPLOYABLE_KINDS = ("workflow", "connector", "agent", "tool")
_DEPLOY_VERBS = {
    "deploy_test": "deployed to test",
    "deploy_prod": "deployed to prod",
    "rollback_prod": "rolled back in prod",
}
for _kind in DEPLOYABLE_KINDS:
    for _verb, _words in _DEPLOY_VERBS.items():
        _action(f"{_kind}.{_verb}", f"{_kind.capitalize()} {_words}")
for _kind in DEPLOYABLE_KINDS[1:]:
    for _verb, _words in {
        "create": "created",
        "update": "changed (new version)",
        "delete": "deleted",
        "execute": "run from its test panel",
    }.items():
        _action(f"{_kind}.{_verb}", f"{_kind.capitalize()} {_words}")


def deploy_action(kind: str, environment: str, *, rollback: bool = False) -> str:
    """The action of deploying ``kind`` (workflow, connector, agent, tool) to ``environment``."""
    return declared(f"{kind}.rollback_prod" if rollback else f"{kind}.deploy_{environment}")


def build_action(kind: str, verb: str) -> str:
    """The action of ``verb`` (create, update, delete, execute) on a build ``kind``."""
    return declared(f"{kind}.{verb}")


ACTIONS: dict[str, AuditAction] = {action.key: action for action in _ACTIONS}


def declared(key: str) -> str:
    """``key`` itself, if the catalog declares it; a ``ValueError`` otherwise."""
    if key not in ACTIONS:
        raise ValueError(f"Audit action {key!r} is not declared in audit.actions")
    return key


def description(key: str) -> str:
    action = ACTIONS.get(key)
    return action.description if action else key
