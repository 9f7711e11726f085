"""A customer's connections, workflows and configuration (console, under the customer pages).

The middleware has entered the customer's context (``tenant_of(request).customer``), so the
scoped managers return this customer's rows only and a foreign id is a 404. By concern:
``connections``, ``workflows`` (with the executions runs leave) and ``configuration``; ``pages``
holds what their views share.
"""
