"""The CSV format of Import customers (SPEC §13): reading a file, checking each row, writing the
result. Pure functions, no database: ``customers.services.imports`` stores and applies what
they return.

A file is refused whole (``ImportFileRefused``) when it cannot be read as the format says:
not UTF-8, no header or a wrong one, more than ``MAX_ROWS`` rows or ``MAX_BYTES`` bytes. Any
other problem belongs to one row and is listed on the preview next to its line; that row is
skipped and every other row is imported.

Columns: ``external_id`` and ``name`` (required), ``region``, ``status``, ``labels``
(``env:prod, tier:gold``) and ``metadata`` (a JSON object). A cell that a spreadsheet would run
as a formula (``=…``, ``@…``, or ``+``/``-`` not followed by a number) is refused; on the way
out every such cell is neutralised with a leading apostrophe (``csv_safe``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError

from customers.labels import labels_parse, metadata_parse
from customers.models import CustomerStatus, Region

COLUMNS = ("external_id", "name", "region", "status", "labels", "metadata")
REQUIRED_COLUMNS = ("external_id", "name")
MAX_ROWS = 10_000
MAX_BYTES = 10 * 1024 * 1024
MAX_FIELD = 120
IMPORT_STATUSES = (
    CustomerStatus.ACTIVE,
    CustomerStatus.PENDING_ACTIVATION,
    CustomerStatus.SUSPENDED,
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d[\d\s.,]*$")
RESULT_COLUMNS = ("line", "external_id", "name", "outcome", "customer_id", "message")


class ImportFileRefused(ValidationError):
    """The file as a whole cannot be imported; nothing of it is stored."""


def _header_name(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def check_size(size: int) -> None:
    """Refuse a file over ``MAX_BYTES`` (the upload form asks before reading it)."""
    if size > MAX_BYTES:
        raise ImportFileRefused(
            f"The file is {size / 1_048_576:.1f} MB; an import takes at most "
            f"{MAX_BYTES // 1_048_576} MB. Split it into smaller files."
        )


def _decode(data: bytes) -> str:
    check_size(len(data))
    if b"\x00" in data:
        raise ImportFileRefused(
            "The file holds NUL bytes, so it is not a CSV text file. Export it from your "
            "spreadsheet as “CSV UTF-8” and upload it again."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileRefused(
            f"The file is not UTF-8 text: line {line} holds the byte 0x{data[exc.start]:02x}, "
            "which UTF-8 does not allow (a file saved as Latin-1 or Windows-1252?). Save it as "
            "“CSV UTF-8” and upload it again."
        ) from None


def _check_header(header: list[str]) -> list[str]:
    names = [_header_name(cell) for cell in header]
    expected = ", ".join(COLUMNS)
    unknown = [cell for cell, name in zip(header, names, strict=True) if name not in COLUMNS]
    if unknown:
        raise ImportFileRefused(
            f"Unknown column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join('“' + cell.strip() + '”' for cell in unknown)} in the header. "
            f"The first line names the columns: {expected} (external_id and name required)."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportFileRefused(f"The header names {', '.join(repeated)} more than once.")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportFileRefused(
            f"The header has no {' or '.join(missing)} column. The first line names the "
            f"columns: {expected} (external_id and name required)."
        )
    return names


def formula_error(column: str, value: str) -> str | None:
    """Why ``value`` would run as a formula in a spreadsheet, or ``None``."""
    if not value.startswith(FORMULA_PREFIXES):
        return None
    if value[0] in "+-" and _NUMBER.match(value):
        return None
    return (
        f"{column} starts with “{value[0]}”, so a spreadsheet would run it as a formula; "
        "such cells are not imported. Remove the leading character."
    )


def _check_row(line: int, cells: dict[str, str]) -> dict[str, Any]:
    """One row as the import stores it: the cleaned fields and every error found."""
    errors: list[str] = []
    for column, value in cells.items():
        if column in ("labels", "metadata"):
            continue
        if (error := formula_error(column, value)) is not None:
            errors.append(error)
    for column in REQUIRED_COLUMNS:
        if not cells.get(column):
            errors.append(f"{column} is empty.")
        elif len(cells[column]) > MAX_FIELD:
            errors.append(f"{column} is longer than {MAX_FIELD} characters.")
    region = cells.get("region", "").lower()
    if region and region not in Region.values:
        errors.append(f"region “{cells['region']}” is not one of {', '.join(Region.values)}.")
    status = cells.get("status", "").lower()
    if status and status not in IMPORT_STATUSES:
        errors.append(f"status “{cells['status']}” is not one of {', '.join(IMPORT_STATUSES)}.")
    labels: dict[str, str] = {}
    metadata: dict[str, Any] = {}
    try:
        labels = labels_parse(cells.get("labels", ""))
    except ValidationError as exc:
        errors.extend(exc.messages)
    try:
        metadata = metadata_parse(cells.get("metadata", ""))
    except ValidationError as exc:
        errors.extend(exc.messages)
    return {
        "line": line,
        "external_id": cells.get("external_id", ""),
        "name": cells.get("name", ""),
        "region": region,
        "status": status,
        "labels": labels if "labels" in cells else None,
        "metadata": metadata if "metadata" in cells else None,
        "errors": errors,
    }


def _mark_duplicates(rows: list[dict[str, Any]]) -> None:
    lines: dict[str, list[int]] = {}
    for row in rows:
        if row["external_id"]:
            lines.setdefault(row["external_id"], []).append(row["line"])
    for row in rows:
        seen = lines.get(row["external_id"], [])
        if len(seen) > 1:
            others = ", ".join(str(n) for n in seen if n != row["line"])
            row["errors"].append(
                f"external_id “{row['external_id']}” is also on line {others}: each external "
                "ID may appear once, so none of these rows is imported."
            )


def import_rows_parse(data: bytes) -> list[dict[str, Any]]:
    """The file's rows, each checked (``errors``); ``ImportFileRefused`` for the whole file."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFileRefused(
                f"The file is empty. Its first line names the columns: {', '.join(COLUMNS)}."
            )
        names = _check_header(header)
        rows: list[dict[str, Any]] = []
        count, ended = 0, reader.line_num
        for cells in reader:
            # A quoted cell may span lines: a row's line is the one it starts on.
            line, ended = ended + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            count += 1
            if count > MAX_ROWS:
                continue  # counted, so the message can say how many there are
            row_errors = []
            if len(cells) > len(names):
                row_errors.append(
                    f"The line has {len(cells)} cells; the header names {len(names)} columns."
                )
            values = dict(zip(names, (cell.strip() for cell in cells), strict=False))
            row = _check_row(line, values)
            row["errors"] = row_errors + row["errors"]
            rows.append(row)
    except csv.Error as exc:
        raise ImportFileRefused(f"Line {reader.line_num} is not valid CSV: {exc}.") from None
    if count > MAX_ROWS:
        raise ImportFileRefused(
            f"The file has {count:,} rows; one import takes at most {MAX_ROWS:,}. "
            f"Split it into files of up to {MAX_ROWS:,} rows and import them one after another."
        )
    if not rows:
        raise ImportFileRefused("The file has a header but no rows under it.")
    _mark_duplicates(rows)
    return rows


def csv_safe(value: Any) -> str:
    """A cell for a CSV a person may open in a spreadsheet: text that would run as a formula
    gets a leading apostrophe (OWASP's advice against CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV text with every cell passed through ``csv_safe``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()


def result_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The downloadable result: one line per row of the file with its outcome."""
    return csv_text(
        RESULT_COLUMNS,
        (
            (
                row["line"],
                row["external_id"],
                row["name"],
                row.get("outcome") or ("skipped" if row["errors"] else "not run"),
                row.get("customer_id") or "",
                row.get("message") or "; ".join(row["errors"]),
            )
            for row in rows
        ),
    )
