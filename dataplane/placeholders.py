"""The customer's configuration values in a workflow step's body (SPEC §11: a definition is
written once, each customer's run fills in its own values).

A string anywhere in a step's ``body`` may hold ``{{config.<key>}}``; when the step runs, each
is replaced by the value of that key in the running customer's configuration (its
Configuration tab). A key the customer has not set stops the step before it is called. A value
marked secret goes only where credentials may go: in a step that names a connector, whose URL
must then be one of that connector's hosts (``dataplane.services.runs``). URLs take no
placeholders, so where a step calls is fixed by the definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*config\.([A-Za-z0-9_.-]{1,120})\s*\}\}")


def placeholder_keys(value: Any) -> set[str]:
    """The configuration keys ``value`` (any JSON) names."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholder_keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(placeholder_keys(item) for item in value))
    return set()


def fill(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with every placeholder replaced from ``values`` (which holds every key)."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda match: values[match.group(1)], value)
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    return value
