"""JSON typed by people: parse with line and column in errors, check workflow definitions and the
small JSON Schema subset agents and tools declare for their input."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from dataplane import outbound
from dataplane.schedules import parse_cron

if TYPE_CHECKING:
    from build.models import Connector

MAX_DEFINITION_BYTES = 64 * 1024
MAX_STEPS = 20
MAX_STEP_TIMEOUT_SECONDS = 30
STEP_KEYS = frozenset({"name", "url", "method", "connector", "timeout_seconds", "body"})
TOP_LEVEL_KEYS = frozenset({"steps", "triggers"})
TRIGGER_KEYS = frozenset({"event", "schedule"})
MAX_TRIGGERS = 10
EVENT_NAME_MAX_LENGTH = 120  # dataplane.models.Event.name
SCHEMA_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def parse_json(text: str, *, max_bytes: int = MAX_DEFINITION_BYTES) -> Any:
    """Parse ``text``; a syntax error names its line and column."""
    size = len(text.encode())
    if size > max_bytes:
        raise ValidationError(
            f"This JSON is {size:,} bytes; the limit is {max_bytes:,}.", code="too_large"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"Line {exc.lineno}, column {exc.colno}: {exc.msg}.", code="invalid_json"
        ) from None


def _objects(
    items: list[Any], kind: str, keys: frozenset[str], errors: list[str], *, example: str = ""
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, item)`` for each object of a definition's list of ``kind``s (``steps[0]``, …);
    an item that is not an object, and unknown keys, are added to ``errors``."""
    for index, item in enumerate(items):
        where = f"{kind}s[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: each {kind} is an object{example}.")
            continue
        extra = sorted(set(item) - keys)
        if extra:
            errors.append(f"{where}: unknown key(s) {', '.join(extra)}.")
        yield where, item


def validate_workflow_definition(
    definition: Any, *, connectors: Mapping[str, Connector]
) -> dict[str, Any]:
    """``{"steps": [{"name", "url", "method"?, "connector"?, "timeout_seconds"?, "body"?}],
    "triggers"?: [{"event": "<event name>"}, {"schedule": "<cron>"}]}``.

    ``connectors`` maps the slug of each connector a step may name to it: a step naming a
    connector carries the customer's connection of it, so it may only call one of that
    connector's hosts (SPEC §11).
    Returns the definition with methods upper-cased; raises a ValidationError listing every
    problem with its path (``steps[1].url: …``).
    """
    if not isinstance(definition, dict):
        raise ValidationError('The definition is a JSON object with a "steps" list.')
    errors: list[str] = []
    unknown = sorted(set(definition) - TOP_LEVEL_KEYS)
    if unknown:
        errors.append(f"Unknown top-level key(s): {', '.join(unknown)}.")
    if "triggers" in definition:
        errors.extend(_trigger_errors(definition["triggers"]))
    steps = definition.get("steps")
    if not isinstance(steps, list):
        raise ValidationError([*errors, '"steps" must be a list.'])
    if len(steps) > MAX_STEPS:
        errors.append(f"At most {MAX_STEPS} steps.")
    names: set[str] = set()
    for where, step in _objects(steps, "step", STEP_KEYS, errors):
        name = step.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(f"{where}.name: a non-empty string is required.")
        elif name in names:
            errors.append(f"{where}.name: another step is already named {name!r}.")
        else:
            names.add(name)
        url = step.get("url")
        url_ok = isinstance(url, str) and bool(url)
        if not isinstance(url, str) or not url:
            errors.append(f"{where}.url: a URL string is required.")
        else:
            try:
                outbound.check_url(url)
            except outbound.UnsafeURL as exc:
                errors.append(f"{where}.url: {exc}")
                url_ok = False
        method = step.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in outbound.ALLOWED_METHODS:
            errors.append(f"{where}.method: one of {', '.join(outbound.ALLOWED_METHODS)}.")
        else:
            step["method"] = method.upper()
        if "connector" in step:
            connector = connectors.get(str(step["connector"]))
            if connector is None:
                known = ", ".join(sorted(connectors)) or "none exist yet"
                errors.append(
                    f"{where}.connector: no connector has the slug {step['connector']!r} ({known})."
                )
            elif url_ok and (refusal := connector.credentials_refusal(str(url))):
                errors.append(f"{where}.url: {refusal}")
        timeout = step.get("timeout_seconds")
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= MAX_STEP_TIMEOUT_SECONDS
        ):
            errors.append(
                f"{where}.timeout_seconds: a number above 0 and at most {MAX_STEP_TIMEOUT_SECONDS}."
            )
    if errors:
        raise ValidationError(errors)
    return definition


def _trigger_errors(triggers: Any) -> list[str]:
    """What is wrong with a definition's ``triggers``: each an ``{"event": name}`` (the name an
    ``POST /api/v1/events`` carries) or a ``{"schedule": "<cron, UTC>"}``
    (``dataplane.schedules``), at most ``MAX_TRIGGERS``, none twice."""
    if not isinstance(triggers, list):
        return ['"triggers" must be a list of {"event": "<name>"} or {"schedule": "<cron>"}.']
    errors: list[str] = []
    if len(triggers) > MAX_TRIGGERS:
        errors.append(f"At most {MAX_TRIGGERS} triggers.")
    seen: set[tuple[str, str]] = set()
    example = ', e.g. {"event": "order.created"} or {"schedule": "0 * * * *"}'
    for where, trigger in _objects(triggers, "trigger", TRIGGER_KEYS, errors, example=example):
        kinds = sorted(set(trigger) & TRIGGER_KEYS)
        if len(kinds) != 1:
            errors.append(f'{where}: exactly one of "event" or "schedule".')
            continue
        kind, value = kinds[0], trigger[kinds[0]]
        problem = _event_problem(value) if kind == "event" else _schedule_problem(value)
        if problem:
            errors.append(f"{where}.{kind}: {problem}")
        elif (kind, value) in seen:
            errors.append(f"{where}.{kind}: {value!r} is already a trigger.")
        else:
            seen.add((kind, value))
    return errors


def _event_problem(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        return "the name of an event, a non-empty string."
    if len(name) > EVENT_NAME_MAX_LENGTH:
        return f"at most {EVENT_NAME_MAX_LENGTH} characters."
    return ""


def _schedule_problem(expression: Any) -> str:
    if not isinstance(expression, str) or not expression.strip():
        return 'a cron expression in UTC, e.g. "*/15 * * * *".'
    try:
        parse_cron(expression)
    except ValueError as wrong:
        return f"{wrong}"
    return ""


def _triggers_of(definition: Any, kind: str) -> list[str]:
    triggers = definition.get("triggers", []) if isinstance(definition, dict) else []
    return [
        trigger[kind]
        for trigger in triggers
        if isinstance(trigger, dict) and isinstance(trigger.get(kind), str)
    ]


def event_trigger_names(definition: Any) -> frozenset[str]:
    """The event names a (validated) definition runs for."""
    return frozenset(_triggers_of(definition, "event"))


def schedule_triggers(definition: Any) -> list[str]:
    """The cron expressions (UTC) a (validated) definition runs on."""
    return _triggers_of(definition, "schedule")


def validate_input_schema(schema: Any) -> dict[str, Any]:
    """The subset of JSON Schema the test panel checks: ``type: object``, ``properties`` with
    simple ``type``s, and ``required``."""
    if not isinstance(schema, dict):
        raise ValidationError("The input schema is a JSON object.")
    if schema.get("type", "object") != "object":
        raise ValidationError('The input schema\'s "type" must be "object".')
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise ValidationError('"properties" must be an object.')
    for name, spec in properties.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind is not None and kind not in SCHEMA_TYPES:
            raise ValidationError(f"properties.{name}.type: one of {', '.join(SCHEMA_TYPES)}.")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise ValidationError('"required" must be a list of property names.')
    return schema


def validate_input(payload: Any, schema: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationError("The input is a JSON object.")
    errors = [f"{name}: required." for name in schema.get("required", []) if name not in payload]
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if name in payload and kind in SCHEMA_TYPES:
            value = payload[name]
            wrong_bool = isinstance(value, bool) and kind in ("number", "integer")
            if wrong_bool or not isinstance(value, SCHEMA_TYPES[kind]):
                errors.append(f"{name}: must be of type {kind}.")
    if errors:
        raise ValidationError(errors)
    return payload
