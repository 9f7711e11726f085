"""Customer labels (``key:value``) and metadata (a JSON object of at most 16 KB), SPEC §13.

The one home of their rules: the console's form, the CSV import, the API and the list filters
all parse and check through these functions, so a label the list can filter by is exactly a
label the edit form accepts.

A label key or value is 1–63 characters: letters, digits, ``-``, ``_`` and ``.``, starting and
ending with a letter or a digit (keys may also hold ``/``, for prefixes such as
``billing/tier``). A customer has at most ``MAX_LABELS`` labels, one value per key.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError

MAX_LABELS = 20
MAX_PART = 63
METADATA_MAX_BYTES = 16 * 1024
LABEL_SEPARATORS = re.compile(r"[,;\n]")
_KEY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_SUGGEST = re.compile(r"[^A-Za-z0-9._/-]+")


def _part_error(kind: str, text: str, pattern: re.Pattern[str]) -> str | None:
    if not text:
        return f"The label {kind} is empty: write labels as key:value, e.g. env:production."
    if len(text) > MAX_PART:
        return f"The label {kind} “{text[:20]}…” is longer than {MAX_PART} characters."
    if pattern.match(text):
        return None
    if any(ch.isspace() for ch in text):
        suggestion = _SUGGEST.sub("-", text).strip("-./")
        return (
            f"The label {kind} “{text}” contains a space: use letters, digits, '-', '_' or '.' "
            f"(for example {suggestion or 'my-' + kind})."
        )
    return (
        f"The label {kind} “{text}” may hold only letters, digits, '-', '_' and '.'"
        + (" (and '/')" if kind == "key" else "")
        + ", starting and ending with a letter or digit."
    )


def label_parse(text: str) -> tuple[str, str]:
    """One ``key:value`` label, checked; a ``ValidationError`` that says what is wrong."""
    text = text.strip()
    key, colon, value = text.partition(":")
    if not colon:
        raise ValidationError(f"“{text}” is not a label: write it as key:value, e.g. env:prod.")
    key, value = key.strip(), value.strip()
    for kind, part, pattern in (("key", key, _KEY), ("value", value, _VALUE)):
        if (error := _part_error(kind, part, pattern)) is not None:
            raise ValidationError(error)
    return key, value


def labels_check(labels: dict[str, Any]) -> dict[str, str]:
    """A labels mapping (from the API or the database), every key and value checked."""
    if not isinstance(labels, dict):
        raise ValidationError("Labels are an object of key: value strings.")
    if len(labels) > MAX_LABELS:
        raise ValidationError(f"A customer has at most {MAX_LABELS} labels ({len(labels)} given).")
    checked: dict[str, str] = {}
    for key, value in labels.items():
        if not isinstance(value, str):
            raise ValidationError(f"The value of label “{key}” must be a string.")
        parsed_key, parsed_value = label_parse(f"{key}:{value}")
        checked[parsed_key] = parsed_value
    return checked


def labels_parse(text: str) -> dict[str, str]:
    """Labels written as text: ``env:prod, tier:gold`` (commas, semicolons or new lines).

    Every problem is reported at once; a key given twice is an error, not a silent overwrite.
    """
    errors: list[str] = []
    labels: dict[str, str] = {}
    for item in LABEL_SEPARATORS.split(text or ""):
        if not item.strip():
            continue
        try:
            key, value = label_parse(item)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if key in labels and labels[key] != value:
            errors.append(f"The label key “{key}” is given twice ({labels[key]}, {value}).")
        labels[key] = value
    if errors:
        raise ValidationError(errors)
    return labels_check(labels)


def labels_text(labels: dict[str, str]) -> str:
    """The text form ``labels_parse`` reads back (``env:prod, tier:gold``)."""
    return ", ".join(f"{key}:{value}" for key, value in sorted(labels.items()))


def metadata_check(metadata: Any) -> dict[str, Any]:
    """A JSON object whose compact UTF-8 encoding is at most 16 KB."""
    if not isinstance(metadata, dict):
        raise ValidationError('Metadata must be a JSON object, e.g. {"plan": "gold"}.')
    try:
        encoded = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError("Metadata may hold only JSON values (no NaN or Infinity).") from None
    if _holds_nul(metadata):
        raise ValidationError("Metadata may not hold NUL characters.")
    size = len(encoded.encode())
    if size > METADATA_MAX_BYTES:
        raise ValidationError(
            f"Metadata is {size:,} bytes; at most {METADATA_MAX_BYTES:,} bytes (16 KB) are kept."
        )
    return metadata


def _holds_nul(value: Any) -> bool:
    # PostgreSQL's jsonb cannot store U+0000.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def metadata_parse(text: str) -> dict[str, Any]:
    """Metadata written as JSON text; empty text is an empty object."""
    if not (text or "").strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"Metadata is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    return metadata_check(value)
